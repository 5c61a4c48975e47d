"""Tagging result types and the tagger contract.

Every tagger returns ``Tag`` objects: a taxonomy ``(category, name)``, a
confidence in [0, 1] and the ``source_model`` (``name@version``) that produced
it. ``TaggingInput`` is what a tagger may look at; the router builds it from
the catalog asset and its blobs.

Example:
    >>> t = Tag("tile", 0.91, "object_type", "zeroshot-image@1")
    >>> t.key
    ('object_type', 'tile')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Tag:
    """One predicted tag (ADR response shape plus agreement bookkeeping)."""

    name: str
    confidence: float
    category: str
    source_model: str
    processing_time_ms: float = 0.0
    # Models whose predictions agreed on this tag during aggregation.
    agreed_by: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Confidences are always in [0, 1]: the ADR caps after every bonus.
        object.__setattr__(self, "confidence", float(min(1.0, max(0.0, self.confidence))))

    @property
    def key(self) -> tuple[str, str]:
        return (self.category, self.name)

    def with_confidence(self, confidence: float) -> Tag:
        return replace(self, confidence=confidence)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["confidence"] = round(self.confidence, 4)
        out["processing_time_ms"] = round(self.processing_time_ms, 2)
        out["agreed_by"] = list(self.agreed_by)
        return out


@dataclass
class TaggingInput:
    """What taggers see of one asset. Images are decoded; files are (name, bytes)."""

    asset_id: str
    title: str = ""
    description: str = ""
    creator_tags: Sequence[str] = ()
    images: Sequence[Image.Image] = ()
    files: Sequence[tuple[str, bytes]] = ()
    # Raw image bytes (first image) for cloud providers that take an upload.
    image_bytes: bytes | None = None
    # Computed once per request and shared by the image taggers.
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        parts = [self.title, self.description, ", ".join(self.creator_tags)]
        return ". ".join(p.strip() for p in parts if p and p.strip())


@dataclass(frozen=True)
class ImageFeatures:
    """Per-image backbone features and their ConSE vectors (one row per image)."""

    features: np.ndarray
    conse: np.ndarray
    models: tuple[str, ...]
    # Style statistics and image facts (see ``agora.tagging.features``).
    extra: np.ndarray


@runtime_checkable
class Tagger(Protocol):
    """A local tagger: ``predict`` has no side effects and returns taxonomy tags."""

    @property
    def model(self) -> str:
        """``name@version`` recorded on every tag."""

    def predict(self, item: TaggingInput) -> list[Tag]: ...
