"""Synthetic degradations with a strength in [0, 1]: the condition model's training labels.

No public data set grades listing photos by condition, so the model learns
from known damage (the approach of the no-reference IQA literature, e.g.
KADID-10k's synthetic distortions): each clean image is degraded by one type
at a strength ``s`` and ``s`` is the label. 0 leaves the image untouched;
1 is damage no buyer would accept.

``TRAINING_TYPES`` are used for fitting; ``UNSEEN_TYPES`` are kept for the
evaluation of types the model never saw (``benchmarks/condition.py``).

Example:
    >>> from PIL import Image
    >>> im = Image.new("RGB", (32, 32), (200, 100, 50))
    >>> degrade(im, "jpeg", 0.5).size
    (32, 32)
    >>> degrade(im, "blur", 0.0) is im
    True
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image, ImageFilter


def _blur(im: Image.Image, s: float, rng: np.random.Generator) -> Image.Image:
    # Relative to the image so a 64 px sprite and a 640 px photo lose alike.
    radius = s * max(im.size) / 80.0
    return im.filter(ImageFilter.GaussianBlur(radius))


def _noise(im: Image.Image, s: float, rng: np.random.Generator) -> Image.Image:
    arr = np.asarray(im, dtype=np.float32)
    noisy = arr + rng.normal(0.0, 45.0 * s, arr.shape).astype(np.float32)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def _jpeg(im: Image.Image, s: float, rng: np.random.Generator) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=round(95 - 90 * s))
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _exposure(im: Image.Image, s: float, rng: np.random.Generator) -> Image.Image:
    arr = np.asarray(im, dtype=np.float32) / 255.0
    # Over- or under-exposed at random: a gamma curve plus a gain, clipped like a sensor.
    if rng.random() < 0.5:
        out = np.clip(arr ** (1.0 + 2.5 * s) * (1.0 - 0.6 * s), 0, 1)
    else:
        out = np.clip(arr ** (1.0 / (1.0 + 2.5 * s)) * (1.0 + 0.8 * s), 0, 1)
    return Image.fromarray((out * 255.0 + 0.5).astype(np.uint8))


def _motion_blur(im: Image.Image, s: float, rng: np.random.Generator) -> Image.Image:
    length = 1 + round(s * max(im.size) / 20.0)
    if length < 2:
        return im
    arr = np.asarray(im, dtype=np.float32)
    out = np.zeros_like(arr)
    horizontal = rng.random() < 0.5
    for k in range(length):
        out += np.roll(arr, k - length // 2, axis=1 if horizontal else 0)
    return Image.fromarray(np.clip(out / length, 0, 255).astype(np.uint8))


def _downscale(im: Image.Image, s: float, rng: np.random.Generator) -> Image.Image:
    # A low-resolution original shown at listing size: shrink, then enlarge.
    factor = 1.0 + 7.0 * s
    w, h = im.size
    small = im.resize((max(1, round(w / factor)), max(1, round(h / factor))), Image.Resampling.BOX)
    return small.resize((w, h), Image.Resampling.BILINEAR)


DEGRADATIONS: dict[str, Callable[[Image.Image, float, np.random.Generator], Image.Image]] = {
    "blur": _blur,
    "noise": _noise,
    "jpeg": _jpeg,
    "exposure": _exposure,
    "motion_blur": _motion_blur,
    "downscale": _downscale,
}
TRAINING_TYPES: tuple[str, ...] = ("blur", "noise", "jpeg", "exposure")
UNSEEN_TYPES: tuple[str, ...] = ("motion_blur", "downscale")


def degrade(
    image: Image.Image, kind: str, strength: float, rng: np.random.Generator | None = None
) -> Image.Image:
    """``image`` (RGB) degraded by ``kind`` at ``strength`` in [0, 1] (0: the image itself)."""
    if kind not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {kind!r}; one of {sorted(DEGRADATIONS)}")
    if strength <= 0.0:
        return image
    return DEGRADATIONS[kind](image, min(float(strength), 1.0), rng or np.random.default_rng(0))


def degraded_set(
    images: list[Any], kinds: tuple[str, ...], per_kind: int, seed: int = 0
) -> tuple[list[Image.Image], np.ndarray, list[str], np.ndarray]:
    """Every image clean once plus ``per_kind`` random strengths of each kind.

    Returns (images, strengths, kinds, source index) aligned row by row.
    """
    rng = np.random.default_rng(seed)
    out: list[Image.Image] = []
    labels: list[float] = []
    names: list[str] = []
    source: list[int] = []
    for i, im in enumerate(images):
        out.append(im)
        labels.append(0.0)
        names.append("clean")
        source.append(i)
        for kind in kinds:
            # Stratified strengths: each draw from its own slice of (0, 1].
            for j in range(per_kind):
                s = float((j + rng.random()) / per_kind)
                out.append(degrade(im, kind, s, rng))
                labels.append(s)
                names.append(kind)
                source.append(i)
    return out, np.asarray(labels), names, np.asarray(source)
