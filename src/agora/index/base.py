"""Vector and keyword index interfaces, shared by every backend.

A vector index is bound to one encoder key (``name@version``) when it is first
written; later writes and queries with another key raise ``EncoderMismatch``.
Scores are similarities: higher is better (cosine for normalised vectors).

Example:
    >>> hit = VectorHit(id="a1", score=0.83)
    >>> hit.id
    'a1'
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class VectorHit:
    id: str
    score: float


@dataclass(frozen=True)
class KeywordDoc:
    """A document for the keyword index: named text fields (title, description, tags)."""

    id: str
    fields: dict[str, str]
    language: str | None = None


@dataclass(frozen=True)
class KeywordHit:
    id: str
    score: float
    # Field name -> text with matched terms wrapped in <mark></mark>.
    highlights: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class VectorIndex(Protocol):
    """Approximate nearest-neighbour index over string ids."""

    name: str

    @property
    def encoder(self) -> str | None:
        """Key of the encoder that built this index (None while empty)."""

    def add(self, ids: Sequence[str], vectors: np.ndarray, *, encoder: str) -> None:
        """Insert or replace vectors (rows of ``vectors``) under ``ids``."""

    def delete(self, ids: Sequence[str]) -> None:
        """Remove ids; unknown ids are ignored."""

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        encoder: str,
        allowed: Collection[str] | None = None,
    ) -> list[list[VectorHit]]:
        """Top-``k`` hits per query row; ``allowed`` restricts the candidates."""

    def get(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of the ids that exist."""

    def __len__(self) -> int: ...

    def close(self) -> None:
        """Persist and release resources."""


@runtime_checkable
class KeywordIndex(Protocol):
    """Full-text index with BM25-style scores and highlights."""

    name: str

    def add(self, docs: Sequence[KeywordDoc]) -> None:
        """Insert or replace documents."""

    def delete(self, ids: Sequence[str]) -> None:
        """Remove ids; unknown ids are ignored."""

    def search(
        self,
        query: str,
        k: int,
        *,
        allowed: Collection[str] | None = None,
        language: str | None = None,
    ) -> list[KeywordHit]:
        """Top-``k`` documents for ``query`` (``language``: the query's, ISO 639-1, if known)."""

    def __len__(self) -> int: ...

    def close(self) -> None:
        """Persist and release resources."""
