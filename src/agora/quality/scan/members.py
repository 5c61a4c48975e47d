"""Archive members to scan, read only after the archive passed the bomb checks.

``archive_members`` first runs ``agora.uploads.archives.inspect_archive`` on
the archive (declared and streamed sizes, compression ratio, entry count, path
traversal, links, nesting depth), which raises before anything is inflated
when a limit is crossed. Only then are the members read, each bounded by what
the check already counted, and nested archives are opened the same way down
to ``MAX_NESTING`` levels. Member paths of nested archives are joined with
``!`` (``pack.zip!inner.tar!run.py``).

Example:
    >>> import io, zipfile
    >>> buf = io.BytesIO()
    >>> with zipfile.ZipFile(buf, "w") as z:
    ...     z.writestr("run.py", "print(1)")
    >>> [(m.name, m.data) for m in archive_members(buf.getvalue(), "zip", UploadSettings())]
    [('run.py', b'print(1)')]
"""

from __future__ import annotations

import io
import tarfile
import zipfile
import zlib
from collections.abc import Iterator

from agora.config import UploadSettings
from agora.errors import InvalidInput, UnsupportedMediaType
from agora.quality.scan.base import Payload
from agora.uploads.archives import MAX_NESTING, inspect_archive
from agora.uploads.sniff import SNIFF_BYTES, sniff


def _inner_format(name: str, data: bytes) -> str | None:
    try:
        sniffed = sniff(data[:SNIFF_BYTES], name=name, size=len(data))
    except (InvalidInput, UnsupportedMediaType):
        return None
    return sniffed.format if sniffed.kind == "archive" else None


def _entries(data: bytes, fmt: str) -> Iterator[tuple[str, bytes]]:
    if fmt == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    yield info.filename, archive.read(info)
    elif fmt in ("tar", "tar.gz"):
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            for member in archive:
                extracted = archive.extractfile(member) if member.isfile() else None
                if extracted is not None:
                    yield member.name, extracted.read()
    elif fmt == "gzip":
        yield "", zlib.decompress(data, 16 + zlib.MAX_WBITS)


def archive_members(
    data: bytes, fmt: str, limits: UploadSettings, *, prefix: str = "", depth: int = 0
) -> Iterator[Payload]:
    """Every member of an archive (nested ones included), after the bomb checks.

    Raises ``PayloadTooLarge`` or ``InvalidInput`` (bomb, traversal, corrupt)
    before yielding anything when the archive fails ``inspect_archive``."""
    if depth == 0:
        inspect_archive(io.BytesIO(data), fmt, limits)
    try:
        for name, body in _entries(data, fmt):
            path = f"{prefix}{name}" if name else prefix.rstrip("!") or "(gzip)"
            yield Payload(path, data=body)
            inner = _inner_format(name, body)
            if inner is not None and depth + 1 <= MAX_NESTING:
                yield from archive_members(body, inner, limits, prefix=f"{path}!", depth=depth + 1)
    except (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError) as exc:
        raise InvalidInput(f"corrupt {fmt} archive: {exc}") from None
    # zipfile: an encrypted member (RuntimeError) or an unsupported method.
    except (RuntimeError, NotImplementedError) as exc:
        raise InvalidInput(f"unreadable {fmt} member: {exc}") from None
