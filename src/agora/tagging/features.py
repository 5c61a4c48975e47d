"""Image features for tagging, computed once per request and shared by the taggers.

One EfficientNet-Lite0 pass per image on the picture *padded* to a square
(sprites are often long strips or tall cards: a centre crop cuts them; padding
on white keeps the whole object), giving:

- the pooled 1280-d features and the ImageNet probabilities (-> ConSE vector
  for the zero-shot tagger);
- style statistics: channel mean and standard deviation of three mid-level
  blocks (a Gram-like description of texture and palette that transfers to
  game art better than the ImageNet-specific head);
- plain image facts: log width/height, aspect ratio, alpha coverage, hue
  histogram of opaque pixels, saturation and value histograms. Asset packs
  share sizes, transparency and palettes; these are part of the image, not
  of its name.

On the Kenney sprites (``benchmarks/tagging_quality.py``) these raised a
logistic head at k = 5 from top-1 0.79 / top-3 0.90 (centre-crop features) to
about 0.88 / 0.95. The trained heads standardise each block with statistics of
the whole catalog (``agora.tagging.heads``).

Example:
    >>> feats = image_features(item, extractor, conse)  # doctest: +SKIP
    >>> feats.extra.shape  # doctest: +SKIP
    (1, 794)
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from agora.encoders.base import EncoderInfo
from agora.encoders.cache import FeatureCache, cached_rows, image_key
from agora.encoders.conse import ConseEncoder
from agora.encoders.image import preprocess, to_rgb
from agora.encoders.text import l2_normalise
from agora.tagging.base import ImageFeatures, TaggingInput

FACTS_DIM = 6 + 12 + 4 + 4
#: Column blocks of a head input row: (name, start, stop).
HEAD_BLOCKS = (
    ("features", 0, 1280),
    ("style7", 1280, 1280 + 160),
    ("style10", 1440, 1440 + 224),
    ("style14", 1664, 1664 + 384),
    ("facts", 2048, 2048 + FACTS_DIM),
)
HEAD_DIM = 2048 + FACTS_DIM


def pad_square(image: Image.Image) -> Image.Image:
    """The image centred on a white square (alpha composited on white)."""
    rgb = to_rgb(image)
    w, h = rgb.size
    side = max(w, h)
    canvas = Image.new("RGB", (side, side), (255, 255, 255))
    canvas.paste(rgb, ((side - w) // 2, (side - h) // 2))
    return canvas


def image_facts(image: Image.Image) -> np.ndarray:
    """Size, aspect, transparency and colour histograms of one image (26 numbers)."""
    w, h = image.size
    rgba = image.convert("RGBA").resize((64, 64), Image.Resampling.BILINEAR)
    alpha = np.asarray(rgba, dtype=np.float32)[..., 3] / 255.0
    hsv = np.asarray(rgba.convert("RGB").convert("HSV"), dtype=np.float32) / 255.0
    opaque = alpha > 0.5
    hue = hsv[..., 0][opaque] if opaque.any() else hsv[..., 0].ravel()
    hue_hist = np.histogram(hue, bins=12, range=(0, 1))[0].astype(np.float32)
    hue_hist /= max(float(hue_hist.sum()), 1.0)
    sat = np.histogram(hsv[..., 1], bins=4, range=(0, 1))[0] / 4096.0
    val = np.histogram(hsv[..., 2], bins=4, range=(0, 1))[0] / 4096.0
    shape = [np.log2(max(w, 1)) / 10, np.log2(max(h, 1)) / 10, np.log(max(w, 1) / max(h, 1))]
    cover = [alpha.mean(), (alpha > 0).mean(), (alpha < 1).mean()]
    return np.concatenate([shape, cover, hue_hist, sat, val]).astype(np.float32)


class TaggingFeatureExtractor:
    """EfficientNet-Lite0 on padded squares, with style statistics from mid-level blocks.

    The ONNX graph (``agora.encoders.efficientnet``) computes the style
    statistics itself: its ``style`` output is the mean and standard deviation
    of each ``STYLE_BLOCKS`` output channel.
    """

    info = EncoderInfo(name="tagfeat-lite0", version="pad-style-1", dim=HEAD_DIM, modality="image")

    def __init__(
        self, batch_size: int = 16, threads: int = 2, cache_dir: Path | None = None
    ) -> None:
        from agora.encoders.model_cache import lite0_onnx, onnx_session

        self._session = onnx_session(lite0_onnx(cache_dir=cache_dir), threads)
        self._batch = batch_size
        self._lock = threading.Lock()
        #: Extracted rows by pixel hash (~13 KB each), shared by every tagging call.
        self.cache = FeatureCache(2_000)

    def extract(self, images: Sequence[Image.Image]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(features (n, 1280), class probabilities (n, 1000), extra (n, style + facts)).

        A picture extracted before (same pixels) is read from ``self.cache``: the
        pipeline extracts a whole batch at once, then tags each asset."""
        pictures = list(images)
        rows = cached_rows(
            self.cache,
            self.info.key,
            [image_key(im) for im in pictures],
            lambda idx: np.hstack(self._extract([pictures[i] for i in idx])),
            1280 + 1000 + HEAD_DIM - 1280,
        )
        return rows[:, :1280], rows[:, 1280:2280], rows[:, 2280:]

    def _extract(self, images: Sequence[Image.Image]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        feats, probs, extra = [], [], []
        for start in range(0, len(images), self._batch):
            chunk = images[start : start + self._batch]
            batch = np.stack([preprocess(pad_square(im), 224, 224) for im in chunk])
            with self._lock:
                f, p, style = self._session.run(["features", "probs", "style"], {"pixels": batch})
            feats.append(f)
            probs.append(p)
            extra.append(np.hstack([style, np.stack([image_facts(im) for im in chunk])]))
        return np.concatenate(feats), np.concatenate(probs), np.concatenate(extra)


def image_features(
    item: TaggingInput, extractor: TaggingFeatureExtractor, conse: ConseEncoder
) -> ImageFeatures:
    """Features, ConSE vectors and style/facts of ``item.images`` (cached on the item)."""
    cached = item.cache.get("image_features")
    if isinstance(cached, ImageFeatures):
        return cached
    features, probs, extra = extractor.extract(list(item.images))
    feats = ImageFeatures(
        features=features.astype(np.float32),
        conse=conse.from_probs(probs),
        models=(extractor.info.key, conse.info.key),
        extra=extra.astype(np.float32),
    )
    item.cache["image_features"] = feats
    return feats


def head_input(feats: ImageFeatures) -> np.ndarray:
    """The heads' raw input for one asset (images averaged): features ++ style ++ facts."""
    rows = head_rows(
        feats.features.mean(axis=0, keepdims=True), feats.extra.mean(axis=0, keepdims=True)
    )
    return np.asarray(rows[0])


def head_rows(features: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """Raw head-input rows from per-asset features and extras (batch path)."""
    return np.hstack([l2_normalise(features), extra]).astype(np.float32)
