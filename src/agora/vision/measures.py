"""Classical image-quality measures: blur, noise, exposure, JPEG blockiness, resolution.

Each is a cheap no-reference statistic with a literature anchor; together
they are the hand-made half of the condition model's input
(``agora.vision.condition``), the image encoder's features the other half:

* **blur**: variance of the Laplacian (Pech-Pacheco et al. 2000) and the mean
  Sobel gradient magnitude (Tenengrad), both on a log scale;
* **noise**: Immerkær's fast noise-variance estimate (1996), a Laplacian-
  difference mask that cancels smooth structure, plus the same estimate on a
  2x-reduced copy (texture survives reduction, noise does not);
* **exposure**: mean and spread of the luminance and the shares of clipped
  dark (<= 8) and bright (>= 247) pixels;
* **JPEG blockiness**: mean absolute jump across the 8-pixel block boundaries
  over the mean jump inside blocks (Wang, Sheikh and Bovik 2002's idea);
* **resolution**: log of the shorter side and of the pixel count;
* **colourfulness** (Hasler and Süsstrunk 2003): washed-out and noisy images move it.

The grey image is reduced (box filter) until its longer side is at most
``MAX_SIDE``, so a 12-megapixel photo costs what a 1024 px one does.

Example:
    >>> from PIL import Image
    >>> m = measure(Image.new("RGB", (64, 48), (120, 130, 140)))
    >>> round(m["log_min_side"], 3), m["clipped_dark"]
    (3.871, 0.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

MAX_SIDE = 1024
MEASURES: tuple[str, ...] = (
    "laplacian_var",
    "tenengrad",
    "noise_sigma",
    "noise_sigma_half",
    "luma_mean",
    "luma_std",
    "clipped_dark",
    "clipped_bright",
    "blockiness",
    "log_min_side",
    "log_pixels",
    "colourfulness",
)

Array = NDArray[np.float64]


def _conv3(g: Array, k: Array) -> Array:
    """'valid' 3x3 correlation with numpy slicing (no SciPy import on the hot path)."""
    h, w = g.shape
    out = np.zeros((h - 2, w - 2))
    for dy in range(3):
        for dx in range(3):
            if k[dy, dx]:
                out += k[dy, dx] * g[dy : dy + h - 2, dx : dx + w - 2]
    return out


LAPLACIAN = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
# Immerkær's mask: difference of two Laplacians, zero on any locally planar patch.
IMMERKAER = np.array([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]])
SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def noise_sigma(g: Array) -> float:
    """Immerkær (1996) noise standard deviation of a grey image in 0-255 units."""
    h, w = g.shape
    if h < 3 or w < 3:
        return 0.0
    total = float(np.abs(_conv3(g, IMMERKAER)).sum())
    return float(total * np.sqrt(0.5 * np.pi) / (6.0 * (w - 2) * (h - 2)))


def blockiness(g: Array) -> float:
    """Mean jump across 8-pixel block edges over the mean jump inside blocks (1: none)."""
    dx = np.abs(np.diff(g, axis=1))
    dy = np.abs(np.diff(g, axis=0))
    # Column j of dx is the jump between pixels j and j+1: a block edge when j % 8 == 7.
    edge_x = np.arange(dx.shape[1]) % 8 == 7
    edge_y = np.arange(dy.shape[0]) % 8 == 7
    if not edge_x.any() or not edge_y.any():
        return 1.0
    across = (dx[:, edge_x].mean() + dy[edge_y, :].mean()) / 2.0
    inside = (dx[:, ~edge_x].mean() + dy[~edge_y, :].mean()) / 2.0
    return float((across + 1e-3) / (inside + 1e-3))


def grey_array(image: Any) -> tuple[Array, Array]:
    """(grey, rgb) float arrays in 0-255 of a Pillow image, reduced to ``MAX_SIDE``."""
    rgb_image = image.convert("RGB")
    factor = -(-max(rgb_image.size) // MAX_SIDE)
    if factor >= 2:
        rgb_image = rgb_image.reduce(factor)
    rgb = np.asarray(rgb_image, dtype=np.float64)
    grey = rgb @ np.array([0.299, 0.587, 0.114])
    return grey, rgb


def measure(image: Any) -> dict[str, float]:
    """Every measure of ``MEASURES`` for one Pillow image (any mode)."""
    w, h = image.size
    grey, rgb = grey_array(image)
    lap = _conv3(grey, LAPLACIAN) if min(grey.shape) >= 3 else np.zeros((1, 1))
    gx = _conv3(grey, SOBEL_X) if min(grey.shape) >= 3 else np.zeros((1, 1))
    gy = _conv3(grey, SOBEL_X.T) if min(grey.shape) >= 3 else np.zeros((1, 1))
    half = grey[: grey.shape[0] // 2 * 2, : grey.shape[1] // 2 * 2]
    half = half.reshape(half.shape[0] // 2, 2, half.shape[1] // 2, 2).mean(axis=(1, 3))
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    colourfulness = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    return {
        "laplacian_var": float(np.log1p(lap.var())),
        "tenengrad": float(np.log1p(np.hypot(gx, gy).mean())),
        "noise_sigma": float(np.log1p(noise_sigma(grey))),
        "noise_sigma_half": float(np.log1p(noise_sigma(half))),
        "luma_mean": float(grey.mean() / 255.0),
        "luma_std": float(grey.std() / 255.0),
        "clipped_dark": float((grey <= 8).mean()),
        "clipped_bright": float((grey >= 247).mean()),
        "blockiness": float(np.log(blockiness(grey))),
        "log_min_side": float(np.log(max(min(w, h), 1))),
        "log_pixels": float(np.log(max(w * h, 1))),
        "colourfulness": float(np.log1p(colourfulness)),
    }


def measure_vector(image: Any) -> NDArray[np.float32]:
    """``measure`` as a float32 vector in ``MEASURES`` order."""
    m = measure(image)
    return np.array([m[name] for name in MEASURES], dtype=np.float32)
