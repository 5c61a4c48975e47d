"""The encoders and indexes search uses, opened lazily, once per process.

``SearchBackends`` opens each index on first use and keeps it; an index that
fails to open (a pgvector server down) is retried on the next call, so the
service degrades to keyword-only search and recovers by itself. Encoders come
from the process's ``Encoders`` (``Platform.encoders``) on first use too:
keyword-only traffic never pays for a model.

The API's ``Platform.search``, the indexing pipeline step and the index
consumers in one process share one ``SearchBackends`` (``Platform.search_backends``),
so an embedded index is never opened twice in a process.

Index names: ``asset_text`` (title + description + tags, text encoder),
``asset_image`` (image features, one row per image: ``<asset id>#<n>``),
``asset_conse`` (ConSE vectors of the same images, in the text space) and the
keyword index ``assets``.

Example:
    >>> backends = SearchBackends(settings, Encoders())  # doctest: +SKIP
    >>> key = backends.text_encoder().info.key  # doctest: +SKIP
    >>> backends.vector(TEXT_INDEX).search(q, 10, encoder=key)  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from agora.encoders.base import EncoderInfo, ImageEncoder, TextEncoder
from agora.index.base import KeywordIndex, VectorIndex

if TYPE_CHECKING:
    from agora.config import Settings
    from agora.encoders.factory import Encoders

TEXT_INDEX = "asset_text"
IMAGE_INDEX = "asset_image"
CONSE_INDEX = "asset_conse"
KEYWORD_INDEX = "assets"
VECTOR_INDEXES = (TEXT_INDEX, IMAGE_INDEX, CONSE_INDEX)


class ConseBridge(Protocol):
    """Image class probabilities -> vectors in the text encoder's space.

    ``info.index_key`` is the text encoder's key (the space the vectors live
    in, which the ConSE index is bound to); ``info.key`` is the whole recipe."""

    info: EncoderInfo

    def from_probs(self, class_probs: np.ndarray) -> np.ndarray: ...


def image_key(asset_id: str, n: int) -> str:
    """Row id of an asset's ``n``-th image in the per-image indexes."""
    return f"{asset_id}#{n}"


def asset_of(row_id: str) -> str:
    """Asset id of a per-image row id (``a1#0`` -> ``a1``)."""
    return row_id.rpartition("#")[0] or row_id


class SearchBackends:
    """Lazily opened encoders (of ``encoders``) and indexes for one settings tree."""

    def __init__(self, settings: Settings, encoders: Encoders) -> None:
        self.settings = settings
        self.encoders = encoders
        self._lock = threading.RLock()
        self._vectors: dict[str, VectorIndex] = {}
        self._keyword: KeywordIndex | None = None
        self._models: dict[str, Any] = {}

    def vector(self, name: str) -> VectorIndex:
        """The named vector index; raises whatever the backend raises when down."""
        with self._lock:
            if name not in self._vectors:
                from agora.index import open_vector_index

                self._vectors[name] = open_vector_index(self.settings, name)
            return self._vectors[name]

    def keyword(self) -> KeywordIndex:
        """The keyword index; raises whatever the backend raises when down."""
        with self._lock:
            if self._keyword is None:
                from agora.index import open_keyword_index

                self._keyword = open_keyword_index(self.settings, KEYWORD_INDEX)
            return self._keyword

    def _model(self, kind: str) -> Any:
        with self._lock:
            if kind not in self._models:
                profile = self.settings.search.text_profile
                if kind == "text":
                    self._models[kind] = self.encoders.text(profile)
                elif kind == "image":
                    self._models[kind] = self.encoders.image()
                else:
                    # Class-name embeddings persist across restarts under data_dir.
                    cache = self.settings.data_dir.absolute() / "encoders"
                    self._models[kind] = self.encoders.conse(profile, cache_dir=cache)
            return self._models[kind]

    def text_encoder(self) -> TextEncoder:
        enc: TextEncoder = self._model("text")
        return enc

    def image_encoder(self) -> ImageEncoder:
        enc: ImageEncoder = self._model("image")
        return enc

    def conse(self) -> ConseBridge:
        bridge: ConseBridge = self._model("conse")
        return bridge

    def close(self) -> None:
        """Persist and close every open index."""
        with self._lock:
            for index in self._vectors.values():
                index.close()
            self._vectors.clear()
            if self._keyword is not None:
                self._keyword.close()
                self._keyword = None
