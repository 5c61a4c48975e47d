"""Blob store interface: content-addressed (sha256) immutable blobs plus
versioned derived files (e.g. a thumbnail, a decimated mesh) keyed by source
blob, kind and version.

Example:
    >>> ref = store.put(b"hello", name="a.txt", media_type="text/plain")  # doctest: +SKIP
    >>> store.get(ref.sha256)  # doctest: +SKIP
    b'hello'
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, BinaryIO


@dataclass(frozen=True)
class BlobRef:
    """Reference stored in the catalog for a file or image."""

    sha256: str
    size: int
    media_type: str
    name: str | None = None
    kind: str | None = None  # image | model3d | script | archive | document | other

    def to_dict(self) -> dict[str, Any]:
        """JSON form stored in the catalog."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BlobRef:
        """Inverse of ``to_dict``."""
        return cls(
            sha256=str(data["sha256"]),
            size=int(data["size"]),
            media_type=str(data["media_type"]),
            name=data.get("name"),
            kind=data.get("kind"),
        )


class BlobStore(ABC):
    """Immutable content-addressed blobs and versioned derived files."""

    @abstractmethod
    def put(
        self, data: bytes | BinaryIO, *, name: str | None, media_type: str, kind: str | None = None
    ) -> BlobRef:
        """Store bytes (idempotent: same content, same sha256)."""

    @abstractmethod
    def get(self, sha256: str) -> bytes:
        """Whole content; ``agora.errors.NotFound`` if absent."""

    @abstractmethod
    def open(self, sha256: str) -> BinaryIO:
        """A readable stream of the content."""

    @abstractmethod
    def exists(self, sha256: str) -> bool:
        """True if the blob is stored."""

    @abstractmethod
    def delete(self, sha256: str) -> None:
        """Remove a blob (retention, right to erasure)."""

    @abstractmethod
    def put_derived(
        self, source_sha256: str, kind: str, version: str, data: bytes, *, media_type: str
    ) -> BlobRef:
        """Store a file derived from ``source_sha256`` (e.g. kind="thumbnail", version="v1")."""

    @abstractmethod
    def list_derived(self, source_sha256: str) -> Iterator[tuple[str, str, BlobRef]]:
        """(kind, version, ref) for every derived file of a source blob."""

    @abstractmethod
    def path_for(self, sha256: str) -> str | None:
        """A local filesystem path when the backend has one (lets trimesh/Pillow
        open files lazily), else None."""
