"""An uploaded file as received by the API or the importer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Upload:
    """A file in memory: its client-side name, bytes and declared content type
    (which is never trusted: the upload guard sniffs the content)."""

    name: str
    data: bytes
    content_type: str | None = None
