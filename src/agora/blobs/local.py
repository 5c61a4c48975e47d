"""Local content-addressed blob store: one folder on disk.

Layout under the root folder::

    objects/ab/cdef...            the blob whose sha256 is "abcdef..." (immutable)
    derived/<source>/<kind>/<version>.json
                                  a derived file's record: {sha256, size, media_type, ...};
                                  its bytes are an ordinary object, so ``get(ref.sha256)``
                                  serves a thumbnail the same way it serves an upload
    tmp/                          partial writes, renamed into place when complete

Every write goes to ``tmp/`` first and is published with ``os.replace``, which
is atomic on one filesystem: several API and worker processes may write the
same blob at once and a reader never sees a half-written file.

Example:
    >>> store = LocalBlobStore("file:///tmp/agora-doc-blobs")
    >>> ref = store.put(b"hello", name="a.txt", media_type="text/plain")
    >>> store.get(ref.sha256)
    b'hello'
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from agora.blobs.base import BlobRef, BlobStore
from agora.blobs.base import check_segment as _check_segment
from agora.blobs.base import check_sha256 as _check_sha
from agora.errors import InvalidInput, NotFound

_CHUNK = 1024 * 1024


class LocalBlobStore(BlobStore):
    """Blobs in a local folder, addressed by sha256 (``file:///abs/path``)."""

    def __init__(self, url: str, **_: object) -> None:
        parts = urlsplit(url)
        raw = unquote(parts.path) if parts.scheme else url
        if parts.netloc and parts.netloc != "localhost":
            # file://relative/path would silently drop "relative": refuse it.
            raise InvalidInput(f"blob store URL must be file:///absolute/path, got {url!r}")
        self.root = Path(raw)
        for sub in ("objects", "derived", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    # -- paths ---------------------------------------------------------------
    def _object_path(self, sha256: str) -> Path:
        _check_sha(sha256)
        return self.root / "objects" / sha256[:2] / sha256[2:]

    def _tmp_path(self) -> Path:
        return self.root / "tmp" / f"{os.getpid()}-{uuid.uuid4().hex}"

    def _publish(self, tmp: Path, final: Path) -> None:
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)

    # -- blobs ---------------------------------------------------------------
    def put(
        self,
        data: bytes | BinaryIO,
        *,
        name: str | None,
        media_type: str,
        kind: str | None = None,
    ) -> BlobRef:
        """Store bytes or a readable stream; the digest is computed while writing,
        so a large upload is never held in memory."""
        tmp = self._tmp_path()
        digest = hashlib.sha256()
        size = 0
        try:
            with open(tmp, "wb") as out:
                if isinstance(data, (bytes, bytearray, memoryview)):
                    chunk = bytes(data)
                    digest.update(chunk)
                    out.write(chunk)
                    size = len(chunk)
                else:
                    while block := data.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
                        size += len(block)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            final = self._object_path(sha)
            if final.exists():
                tmp.unlink()  # same content already stored: idempotent
            else:
                self._publish(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return BlobRef(sha256=sha, size=size, media_type=media_type, name=name, kind=kind)

    def get(self, sha256: str) -> bytes:
        """Whole content; ``NotFound`` if absent."""
        try:
            return self._object_path(sha256).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"blob {sha256} not found") from None

    def open(self, sha256: str) -> BinaryIO:
        """A readable binary stream; the caller closes it."""
        try:
            return open(self._object_path(sha256), "rb")
        except FileNotFoundError:
            raise NotFound(f"blob {sha256} not found") from None

    def exists(self, sha256: str) -> bool:
        """True if the blob is stored."""
        return self._object_path(sha256).is_file()

    def delete(self, sha256: str) -> None:
        """Remove a blob and everything derived from it (right to erasure: a
        thumbnail of an erased image is erased too). Missing blobs are fine."""
        for _kind, _version, ref in list(self.list_derived(sha256)):
            self._object_path(ref.sha256).unlink(missing_ok=True)
        shutil.rmtree(self.root / "derived" / sha256, ignore_errors=True)
        self._object_path(sha256).unlink(missing_ok=True)

    def path_for(self, sha256: str) -> str | None:
        """The blob's local path (lets Pillow and trimesh read lazily)."""
        path = self._object_path(sha256)
        if not path.is_file():
            raise NotFound(f"blob {sha256} not found")
        return str(path)

    # -- derived files -------------------------------------------------------
    def put_derived(
        self, source_sha256: str, kind: str, version: str, data: bytes, *, media_type: str
    ) -> BlobRef:
        """Store a file derived from a source blob; re-putting the same
        (kind, version) replaces the record atomically."""
        _check_sha(source_sha256)
        _check_segment(kind, "kind")
        _check_segment(version, "version")
        ref = self.put(data, name=f"{kind}/{version}", media_type=media_type, kind=kind)
        record = {**ref.to_dict(), "source": source_sha256, "version": version}
        tmp = self._tmp_path()
        tmp.write_text(json.dumps(record, sort_keys=True))
        self._publish(tmp, self.root / "derived" / source_sha256 / kind / f"{version}.json")
        return ref

    def list_derived(self, source_sha256: str) -> Iterator[tuple[str, str, BlobRef]]:
        """(kind, version, ref) for each derived file, sorted by kind then version."""
        base = self.root / "derived" / _check_sha(source_sha256)
        if not base.is_dir():
            return
        for record_path in sorted(base.glob("*/*.json")):
            record = json.loads(record_path.read_text())
            ref = BlobRef.from_dict(record)
            # A derived object shared with another source may have been erased
            # with that source; a dangling record is skipped so it gets rebuilt.
            if self.exists(ref.sha256):
                yield record_path.parent.name, record["version"], ref
