"""Served encoders: loaded lazily, once per owner, behind micro-batching and a query cache.

An ``Encoders`` holds the served encoders of one process: the composition
root (``Platform.encoders``) owns one and hands it to what
encodes (search, tagging, moderation), so each model loads once (on first
use, under a lock: concurrent first calls load it once) and closes with the
platform. Served encoders implement the ``TextEncoder`` / ``ImageEncoder``
protocols:

- small requests from concurrent callers are merged by a ``MicroBatcher``;
  large requests (a pipeline batch) go straight to the model;
- query embeddings are cached in a ``QueryCache`` keyed by encoder key + text;
- passage vectors and image features are cached in a ``FeatureCache`` keyed by
  encoder key + content hash, so the pipeline's steps (moderation, tagging,
  indexing) and the recommender's content model encode each content once per
  model version, and an update that keeps the text is not re-encoded.

Example:
    >>> encoders = Encoders()
    >>> encoders.text("minilm").info.key  # doctest: +SKIP
    'minilm@l6-v2-int8-1.0.0'
    >>> encoders.close()
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from agora.encoders.base import EncoderInfo, ImageEncoder, ImageEncoding, TextEncoder
from agora.encoders.batching import MicroBatcher
from agora.encoders.cache import FeatureCache, QueryCache, cached_rows, content_key, image_key
from agora.encoders.conse import ConseEncoder
from agora.encoders.image import to_rgb
from agora.errors import InvalidInput

TEXT_PROFILES = ("minilm", "e5")
# Bounds of the shared feature caches: ~1.5 KB a passage row (384 floats),
# ~9 KB an image row (1280 features + 1000 class probabilities).
PASSAGE_CACHE_ENTRIES = 20_000
IMAGE_CACHE_ENTRIES = 2_000


class ServedTextEncoder:
    """A text model behind a query cache and micro-batchers (thread-safe)."""

    def __init__(
        self,
        model: TextEncoder,
        *,
        cache: QueryCache | None = None,
        max_batch: int = 32,
        max_wait_ms: float = 3.0,
    ) -> None:
        self.model = model
        self.info: EncoderInfo = model.info
        self.cache = cache if cache is not None else QueryCache()
        #: Passage vectors by content hash, shared by every step of the process.
        self.features = FeatureCache(PASSAGE_CACHE_ENTRIES)
        self._max_batch = max_batch
        self._queries = MicroBatcher(
            model.encode_queries, max_batch=max_batch, max_wait_ms=max_wait_ms,
            name=f"queries-{model.info.name}",
        )  # fmt: skip
        self._passages = MicroBatcher(
            model.encode_passages, max_batch=max_batch, max_wait_ms=max_wait_ms,
            name=f"passages-{model.info.name}",
        )  # fmt: skip

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        key = self.info.key
        out = np.empty((len(texts), self.info.dim), dtype=np.float32)
        missing: list[int] = []
        for i, text in enumerate(texts):
            hit = self.cache.get(key, text)
            if hit is None:
                missing.append(i)
            else:
                out[i] = hit
        if missing:
            todo = [texts[i] for i in missing]
            vecs = self._run(self._queries, self.model.encode_queries, todo)
            for i, text, vec in zip(missing, todo, vecs, strict=True):
                out[i] = vec
                self.cache.put(key, text, vec)
        return out

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Passage vectors; a text seen before (by content hash) is not re-encoded,
        and the rest go to the model in one call."""
        todo = list(texts)
        return cached_rows(
            self.features,
            self.info.key,
            [content_key(t) for t in todo],
            lambda idx: self._run(
                self._passages, self.model.encode_passages, [todo[i] for i in idx]
            ),
            self.info.dim,
        )

    def _run(
        self,
        batcher: MicroBatcher[str],
        direct: Callable[[Sequence[str]], np.ndarray],
        texts: list[str],
    ) -> np.ndarray:
        if len(texts) >= self._max_batch:
            return direct(texts)  # already a full batch: nothing to merge with
        return batcher.submit(texts)

    def close(self) -> None:
        self._queries.close()
        self._passages.close()


class ServedImageEncoder:
    """An image model behind a micro-batcher (thread-safe)."""

    def __init__(self, model: ImageEncoder, *, max_batch: int = 16, max_wait_ms: float = 5.0):
        self.model = model
        self.info: EncoderInfo = model.info
        #: Packed rows (features ++ class probabilities) by pixel hash.
        self.features = FeatureCache(IMAGE_CACHE_ENTRIES)
        self._max_batch = max_batch
        self._batcher: MicroBatcher[Image.Image] = MicroBatcher(
            self._packed, max_batch=max_batch, max_wait_ms=max_wait_ms, name="images"
        )

    def _packed(self, images: list[Image.Image]) -> np.ndarray:
        # The batcher hands back one array of rows: features and probabilities side by side.
        enc = self.model.encode_images(images)
        return np.hstack([enc.features, enc.class_probs])

    def encode_images(self, images: Sequence[Image.Image]) -> ImageEncoding:
        """Features and class probabilities; a picture seen before (same pixels, same
        model) is read from the cache, the rest go to the model in one call."""
        rgb = [to_rgb(im) for im in images]
        packed = cached_rows(
            self.features,
            self.info.key,
            [image_key(im) for im in rgb],
            lambda idx: self._encode([rgb[i] for i in idx]),
        )
        dim = self.info.dim
        return ImageEncoding(features=packed[:, :dim], class_probs=packed[:, dim:])

    def _encode(self, images: list[Image.Image]) -> np.ndarray:
        if len(images) >= self._max_batch:
            return self._packed(images)  # already a full batch: nothing to merge with
        return self._batcher.submit(images)

    def close(self) -> None:
        self._batcher.close()


def _load_text_model(profile: str) -> TextEncoder:
    from agora.encoders.text import E5Encoder, MiniLMEncoder

    if profile == "minilm":
        return MiniLMEncoder()
    if profile == "e5":
        return E5Encoder()
    raise InvalidInput(f"unknown text profile {profile!r}; expected one of {TEXT_PROFILES}")


class Encoders:
    """The served encoders of one owner (a platform, a benchmark): each model is
    loaded on first use, once, and ``close`` stops their batching threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._text: dict[str, ServedTextEncoder] = {}
        self._image: ServedImageEncoder | None = None
        self._conse: dict[tuple[str, str | None], ConseEncoder] = {}
        self._closed = False

    def _check_open(self) -> None:
        # Under the lock: a model loaded after close would never be closed.
        if self._closed:
            raise RuntimeError("these encoders are closed (their platform was closed)")

    def text(self, profile: str = "minilm") -> ServedTextEncoder:
        """The served text encoder of ``profile`` ("minilm" or "e5")."""
        if profile not in TEXT_PROFILES:
            raise InvalidInput(f"unknown text profile {profile!r}; expected one of {TEXT_PROFILES}")
        with self._lock:
            self._check_open()
            if profile not in self._text:
                self._text[profile] = ServedTextEncoder(_load_text_model(profile))
            return self._text[profile]

    def image(self) -> ServedImageEncoder:
        """The served EfficientNet-Lite0 image encoder."""
        with self._lock:
            self._check_open()
            if self._image is None:
                from agora.encoders.image import EfficientNetLite0Encoder

                self._image = ServedImageEncoder(EfficientNetLite0Encoder())
            return self._image

    def conse(self, profile: str = "minilm", cache_dir: Path | None = None) -> ConseEncoder:
        """The ConSE bridge from this owner's image encoder into ``profile``'s text space.

        ``cache_dir`` (e.g. ``settings.data_dir / "encoders"``) keeps the class-name
        embeddings across restarts.
        """
        text, image = self.text(profile), self.image()
        key = (profile, str(cache_dir) if cache_dir else None)
        with self._lock:
            if key not in self._conse:
                self._conse[key] = ConseEncoder(image, text, cache_dir=cache_dir)
            return self._conse[key]

    def close(self) -> None:
        """Stop the micro-batchers (requests already queued still run); later
        requests for an encoder raise ``RuntimeError``."""
        with self._lock:
            self._closed = True
            served: list[ServedTextEncoder | ServedImageEncoder] = list(self._text.values())
            if self._image is not None:
                served.append(self._image)
        for encoder in served:
            encoder.close()
