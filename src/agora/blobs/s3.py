"""S3 blob store (boto3): AWS S3 or any S3-compatible server (MinIO, Ceph, moto).

Keys under ``s3://bucket/prefix``::

    <prefix>/objects/ab/cdef...                   the blob "abcdef..." (immutable)
    <prefix>/derived/<source>/<kind>/<version>.json  a derived file's record; its
                                                     bytes are an ordinary object

An S3 PUT is atomic (a reader sees the old object, the new one or nothing,
never a partial write), so the local store's tmp-then-rename dance is not
needed: the digest is computed while the upload is spooled, then the object is
written once under its final key. Concurrent writers of the same content write
the same bytes under the same key.

Credentials come from the settings when given, otherwise from boto3's default
chain (environment, ``~/.aws``, instance role).

Example:
    >>> store = S3BlobStore("s3://agora-blobs/prod", endpoint_url="http://127.0.0.1:9000")
    ... # doctest: +SKIP
    >>> ref = store.put(b"hello", name="a.txt", media_type="text/plain")  # doctest: +SKIP
    >>> store.download_url(ref.sha256, expires_s=600)  # doctest: +SKIP
    'http://127.0.0.1:9000/agora-blobs/prod/objects/2c/f24d...?X-Amz-Signature=...'
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterator
from typing import Any, BinaryIO, cast
from urllib.parse import quote, urlsplit

from agora.blobs.base import BlobRef, BlobStore, check_segment, check_sha256
from agora.errors import InvalidInput, NotFound

_CHUNK = 1024 * 1024
# Uploads up to this size are spooled in memory, larger ones on disk: the key is
# the digest, known only once the whole stream was read.
_SPOOL_MAX = 8 * 1024 * 1024


def _is_missing(exc: Exception) -> bool:
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}


class S3BlobStore(BlobStore):
    """Blobs in an S3 bucket, addressed by sha256 (``s3://bucket/prefix``)."""

    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str = "",
        region: str = "us-east-1",
        access_key_id: str = "",
        secret_access_key: str = "",
        **_: object,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise InvalidInput(f"S3 blob store URL must be s3://bucket[/prefix], got {url!r}")
        import boto3
        from botocore.config import Config

        self.bucket = parts.netloc
        prefix = parts.path.strip("/")
        self.prefix = f"{prefix}/" if prefix else ""
        credentials: dict[str, Any] = {}
        if access_key_id or secret_access_key:
            credentials = {
                "aws_access_key_id": access_key_id,
                "aws_secret_access_key": secret_access_key,
            }
        # Path-style addressing works with every S3-compatible server (MinIO and
        # moto on a bare host:port have no virtual-host DNS); AWS accepts it too.
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region,
            config=Config(
                s3={"addressing_style": "path"},
                signature_version="s3v4",  # presigned URLs: SigV4, required by newer regions
                retries={"mode": "standard"},
            ),
            **credentials,
        )

    # -- keys ----------------------------------------------------------------
    def _object_key(self, sha256: str) -> str:
        check_sha256(sha256)
        return f"{self.prefix}objects/{sha256[:2]}/{sha256[2:]}"

    def _derived_prefix(self, source_sha256: str) -> str:
        return f"{self.prefix}derived/{check_sha256(source_sha256)}/"

    # -- blobs ---------------------------------------------------------------
    def put(
        self,
        data: bytes | BinaryIO,
        *,
        name: str | None,
        media_type: str,
        kind: str | None = None,
    ) -> BlobRef:
        """Store bytes or a readable stream (spooled while hashing, so a large
        upload is never held in memory); an existing object is not rewritten."""
        if isinstance(data, (bytes, bytearray, memoryview)):
            body = bytes(data)
            sha = hashlib.sha256(body).hexdigest()
            key = self._object_key(sha)
            if not self.exists(sha):
                self.client.put_object(
                    Bucket=self.bucket, Key=key, Body=body, ContentType=media_type
                )
            return BlobRef(sha256=sha, size=len(body), media_type=media_type, name=name, kind=kind)
        digest = hashlib.sha256()
        size = 0
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_MAX) as spool:
            while block := data.read(_CHUNK):
                digest.update(block)
                spool.write(block)
                size += len(block)
            sha = digest.hexdigest()
            if not self.exists(sha):
                spool.seek(0)
                # upload_fileobj switches to a multipart upload for large files.
                self.client.upload_fileobj(
                    spool,
                    self.bucket,
                    self._object_key(sha),
                    ExtraArgs={"ContentType": media_type},
                )
        return BlobRef(sha256=sha, size=size, media_type=media_type, name=name, kind=kind)

    def get(self, sha256: str) -> bytes:
        """Whole content; ``NotFound`` if absent."""
        with self.open(sha256) as stream:
            return stream.read()

    def open(self, sha256: str) -> BinaryIO:
        """A streaming body read from S3 as it is consumed; the caller closes it."""
        key = self._object_key(sha256)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if _is_missing(exc):
                raise NotFound(f"blob {sha256} not found") from None
            raise
        # botocore's StreamingBody is an io.IOBase: read(), close() and ``with``.
        return cast(BinaryIO, response["Body"])

    def exists(self, sha256: str) -> bool:
        """True if the blob is stored."""
        key = self._object_key(sha256)
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if _is_missing(exc):
                return False
            raise
        return True

    def delete(self, sha256: str) -> None:
        """Remove a blob, its derived files and their records. Missing is fine."""
        keys = [self._object_key(ref.sha256) for _k, _v, ref in self.list_derived(sha256)]
        keys += self._keys_under(self._derived_prefix(sha256))
        keys.append(self._object_key(sha256))
        for start in range(0, len(keys), 1000):  # DeleteObjects takes 1000 keys
            batch = [{"Key": k} for k in keys[start : start + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})

    def path_for(self, sha256: str) -> str | None:
        """None: objects have no local path (callers read ``open``/``get``)."""
        if not self.exists(sha256):
            raise NotFound(f"blob {sha256} not found")
        return None

    def download_url(
        self, sha256: str, *, expires_s: int = 3600, filename: str | None = None
    ) -> str | None:
        """A presigned GET URL valid for ``expires_s`` seconds; ``filename``
        sets the Content-Disposition the client saves it under."""
        if not self.exists(sha256):
            raise NotFound(f"blob {sha256} not found")
        params: dict[str, str] = {"Bucket": self.bucket, "Key": self._object_key(sha256)}
        if filename:
            params["ResponseContentDisposition"] = (
                f"attachment; filename*=UTF-8''{quote(filename, safe='')}"
            )
        return str(
            self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s)
        )

    # -- derived files -------------------------------------------------------
    def put_derived(
        self, source_sha256: str, kind: str, version: str, data: bytes, *, media_type: str
    ) -> BlobRef:
        """Store a derived file, then its record (the record is written last, so
        a listed record always points at stored bytes)."""
        prefix = self._derived_prefix(source_sha256)
        check_segment(kind, "kind")
        check_segment(version, "version")
        ref = self.put(data, name=f"{kind}/{version}", media_type=media_type, kind=kind)
        record = {**ref.to_dict(), "source": source_sha256, "version": version}
        self.client.put_object(
            Bucket=self.bucket,
            Key=f"{prefix}{kind}/{version}.json",
            Body=json.dumps(record, sort_keys=True).encode(),
            ContentType="application/json",
        )
        return ref

    def list_derived(self, source_sha256: str) -> Iterator[tuple[str, str, BlobRef]]:
        """(kind, version, ref) for each derived file, sorted by kind then version."""
        prefix = self._derived_prefix(source_sha256)
        entries = []
        for key in self._keys_under(prefix):
            kind, _, file = key[len(prefix) :].partition("/")
            if not file.endswith(".json") or "/" in file:
                continue
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            record = json.loads(body)
            entries.append((kind, str(record["version"]), BlobRef.from_dict(record)))
        for kind, version, ref in sorted(entries, key=lambda e: (e[0], f"{e[1]}.json")):
            # A dangling record (its object erased with another source) is skipped.
            if self.exists(ref.sha256):
                yield kind, version, ref

    def _keys_under(self, prefix: str) -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        keys: list[str] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(str(item["Key"]) for item in page.get("Contents", []))
        return keys
