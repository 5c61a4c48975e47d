"""Blob stores: uploads and derived files, chosen by ``settings.blobs.url``.

Example:
    >>> from agora.config import Settings
    >>> store = create_blob_store(Settings(data_dir="/tmp/agora-doc"))
    >>> store.exists("0" * 64)
    False
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agora.blobs.base import BlobRef, BlobStore
from agora.blobs.local import LocalBlobStore
from agora.plugins import BackendRegistry

if TYPE_CHECKING:
    from agora.config import Settings

blob_backends: BackendRegistry[BlobStore] = BackendRegistry("blob store")
blob_backends.register("file")(LocalBlobStore)


def create_blob_store(settings: Settings) -> BlobStore:
    """The blob store named by ``settings.blobs.url`` (``file:///abs/path``)."""
    return blob_backends.create(settings.blobs.url)


__all__ = ["BlobRef", "BlobStore", "LocalBlobStore", "blob_backends", "create_blob_store"]
