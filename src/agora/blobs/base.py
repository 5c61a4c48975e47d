"""Blob store interface: content-addressed (sha256) immutable blobs plus
versioned derived files (e.g. a thumbnail, a decimated mesh) keyed by source
blob, kind and version.

Example:
    >>> ref = store.put(b"hello", name="a.txt", media_type="text/plain")  # doctest: +SKIP
    >>> store.get(ref.sha256)  # doctest: +SKIP
    b'hello'
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, BinaryIO

from agora.errors import InvalidInput, NotFound

_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
# Kinds and versions become path segments: keep them to a safe alphabet.
_SEGMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def check_sha256(sha256: str) -> str:
    """``sha256`` itself if it is 64 lowercase hex characters, else ``InvalidInput``."""
    # The digest becomes a path or a key: refuse anything that is not 64 lowercase hex
    # characters, so "../" can never reach the filesystem.
    if not isinstance(sha256, str) or not _SHA_RE.match(sha256):
        raise InvalidInput(f"not a sha256 hex digest: {sha256!r}")
    return sha256


def check_segment(value: str, what: str) -> str:
    """A derived kind or version, checked to be a safe path/key segment."""
    if not _SEGMENT_RE.match(value):
        raise InvalidInput(f"derived {what} must match {_SEGMENT_RE.pattern}, got {value!r}")
    return value


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

    def download_url(
        self, sha256: str, *, expires_s: int = 3600, filename: str | None = None
    ) -> str | None:
        """A URL that lets a client download the blob directly, without
        credentials, for ``expires_s`` seconds (S3: a presigned GET), or None
        when the backend has none (the API then serves the bytes itself).
        ``NotFound`` if the blob is absent."""
        if not self.exists(sha256):
            raise NotFound(f"blob {sha256} not found")
        return None
