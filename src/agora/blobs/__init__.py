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
from agora.blobs.s3 import S3BlobStore
from agora.plugins import BackendRegistry

if TYPE_CHECKING:
    from agora.config import Settings

blob_backends: BackendRegistry[BlobStore] = BackendRegistry("blob store")
blob_backends.register("file")(LocalBlobStore)
blob_backends.register("s3")(S3BlobStore)


def create_blob_store(settings: Settings) -> BlobStore:
    """The blob store named by ``settings.blobs.url`` (``file:///abs/path`` or
    ``s3://bucket/prefix``, the latter configured by the ``blobs.s3_*`` settings)."""
    blobs = settings.blobs
    return blob_backends.create(
        blobs.url,
        endpoint_url=blobs.s3_endpoint_url,
        region=blobs.s3_region,
        access_key_id=blobs.s3_access_key_id,
        secret_access_key=blobs.s3_secret_access_key,
    )


__all__ = [
    "BlobRef",
    "BlobStore",
    "LocalBlobStore",
    "S3BlobStore",
    "blob_backends",
    "create_blob_store",
]
