"""Encoder interfaces and result types.

Every vector Agora stores is tagged with the key (``name@version``) of the
encoder that produced it; indexes refuse vectors from another encoder, because
both text profiles are 384-d and must never mix silently.

Example:
    >>> info = EncoderInfo(name="minilm", version="l6-v2-int8", dim=384, modality="text")
    >>> info.key
    'minilm@l6-v2-int8'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np
from PIL import Image

from agora.errors import Conflict

# "multimodal": one shared space for text and images (CLIP-like encoders).
Modality = Literal["text", "image", "multimodal"]


@dataclass(frozen=True)
class EncoderInfo:
    """Identity of an encoder: the key is recorded with every vector."""

    name: str
    version: str
    dim: int
    modality: Modality
    # Key of the space the vectors live in, when it is another encoder's: a ConSE
    # image vector lives in its text encoder's space and is searched with that
    # encoder's queries. None: the encoder's own space.
    space: str | None = None

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def index_key(self) -> str:
        """The key a vector index is bound to: the space's key (``space`` or ``key``)."""
        return self.space or self.key


class EncoderMismatch(Conflict):
    """Vectors from one encoder were offered to an index built by another."""


@runtime_checkable
class TextEncoder(Protocol):
    """Text to L2-normalised float32 vectors of shape ``(n, info.dim)``."""

    info: EncoderInfo

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class ImageEncoding:
    """Image encoder output: normalised features and ImageNet class probabilities."""

    features: np.ndarray  # (n, info.dim) float32, L2-normalised
    class_probs: np.ndarray  # (n, 1000) float32, rows sum to 1


@runtime_checkable
class ImageEncoder(Protocol):
    """Images to features (and class probabilities where the model has classes)."""

    info: EncoderInfo

    def encode_images(self, images: Sequence[Image.Image]) -> ImageEncoding: ...
