"""ConSE: images into a text encoder's space (Norouzi et al., ICLR 2014).

An image's ImageNet class probabilities are turned into a vector of the text
space: take the top ``T`` classes, weight the text embeddings of their names
by the renormalised probabilities, sum, L2-normalise::

    f(x) = normalise( sum_{t<=T} p(y_t | x) / Z * s(y_t) ),   Z = sum_{t<=T} p(y_t | x)

The result is searched with that text encoder's queries ("red car", or with
the multilingual profile "rotes Auto"), and compared with taxonomy label
descriptions for zero-shot tagging.

Index binding: a ConSE vector lives in the text encoder's space, so
``info.space`` (and ``info.index_key``) is the text encoder's key and a vector
index of ConSE vectors is bound to that key; ``info.key`` records the whole
recipe (image encoder, text encoder, T, class-name list) for provenance.

Class-name embeddings are computed lazily, only for the classes that occur in
some image's top ``T``, kept in memory and saved under ``cache_dir`` (one file
per text encoder key), so a process pays for each name once and a restart
pays for none.

Example:
    >>> bridge = ConseEncoder(image_encoder(), text_encoder("minilm"))  # doctest: +SKIP
    >>> vecs = bridge.encode_images([photo]).features  # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from agora.encoders.base import EncoderInfo, ImageEncoder, ImageEncoding, TextEncoder
from agora.encoders.imagenet import NAMES_VERSION, NUM_CLASSES, class_names
from agora.encoders.text import l2_normalise

DEFAULT_TOP_T = 10


class ClassNameTable:
    """Lazily computed text embeddings of the 1000 ImageNet class names."""

    # Write the cache file after this many new rows: a few writes per process life.
    SAVE_EVERY = 64

    def __init__(self, text: TextEncoder, cache_dir: Path | None = None) -> None:
        self.text = text
        self._vectors = np.zeros((NUM_CLASSES, text.info.dim), dtype=np.float32)
        self._have = np.zeros(NUM_CLASSES, dtype=bool)
        self._lock = threading.Lock()
        self._unsaved = 0
        self._path: Path | None = None
        if cache_dir is not None:
            safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{text.info.key}-{NAMES_VERSION}")
            self._path = Path(cache_dir) / f"imagenet-names-{safe}.npz"
            self._load()

    def _load(self) -> None:
        assert self._path is not None
        if not self._path.exists():
            return
        try:
            with np.load(self._path) as data:
                vectors, have = data["vectors"], data["have"]
        except (OSError, KeyError, ValueError):
            return  # a torn or foreign file is recomputed, never trusted
        if vectors.shape == self._vectors.shape and have.shape == self._have.shape:
            self._vectors[:] = vectors
            self._have[:] = have

    def _save(self) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp.npz")
        np.savez(tmp, vectors=self._vectors, have=self._have)
        os.replace(tmp, self._path)  # atomic: readers never see half a file
        self._unsaved = 0

    def rows(self, classes: np.ndarray) -> np.ndarray:
        """Embeddings of ``classes`` (int indices), computing the missing ones."""
        with self._lock:
            wanted = np.unique(classes)
            missing = wanted[~self._have[wanted]]
            if len(missing):
                names = class_names()
                self._vectors[missing] = self.text.encode_passages([names[i] for i in missing])
                self._have[missing] = True
                self._unsaved += len(missing)
                if self._unsaved >= self.SAVE_EVERY or self._have.all():
                    self._save()
            return np.asarray(self._vectors[classes])

    def warm(self) -> None:
        """Compute every class name now (e.g. at deploy time) and save."""
        self.rows(np.arange(NUM_CLASSES))
        with self._lock:
            if self._unsaved:
                self._save()

    @property
    def computed(self) -> int:
        return int(self._have.sum())


class ConseEncoder:
    """Image encoder whose vectors live in ``text``'s space (an ``ImageEncoder``).

    ``encode_images`` returns the ConSE vectors as ``features`` and the backbone's
    class probabilities; ``from_probs`` reuses probabilities already computed.
    """

    def __init__(
        self,
        image: ImageEncoder,
        text: TextEncoder,
        *,
        top_t: int = DEFAULT_TOP_T,
        cache_dir: Path | None = None,
    ) -> None:
        if not 1 <= top_t <= NUM_CLASSES:
            raise ValueError(f"top_t must be in 1..{NUM_CLASSES}, got {top_t}")
        self.image = image
        self.text = text
        self.top_t = top_t
        self.names = ClassNameTable(text, cache_dir)
        self.info = EncoderInfo(
            name=f"conse({image.info.key}|{text.info.key})",
            version=f"top{top_t}-{NAMES_VERSION}",
            dim=text.info.dim,
            modality="image",
            space=text.info.key,
        )

    def from_probs(self, class_probs: np.ndarray) -> np.ndarray:
        """ConSE vectors (n, text dim) from ImageNet class probabilities (n, 1000)."""
        probs = np.asarray(class_probs, dtype=np.float32)
        if probs.ndim != 2 or probs.shape[1] != NUM_CLASSES:
            raise ValueError(f"class_probs must be (n, {NUM_CLASSES}), got {probs.shape}")
        if len(probs) == 0:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        top = np.argpartition(-probs, self.top_t - 1, axis=1)[:, : self.top_t]
        weights = np.take_along_axis(probs, top, axis=1)
        weights = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
        emb = self.names.rows(top.ravel()).reshape(len(probs), self.top_t, self.info.dim)
        return l2_normalise(np.einsum("nt,ntd->nd", weights, emb))

    def encode_images(self, images: Sequence[Image.Image]) -> ImageEncoding:
        base = self.image.encode_images(images)
        return ImageEncoding(
            features=self.from_probs(base.class_probs), class_probs=base.class_probs
        )
