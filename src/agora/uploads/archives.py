"""Inspect ZIP, tar and gzip archives without extracting them to disk.

ZIP: only the central directory is read (declared sizes; Python's zipfile
never inflates an entry past its declared size, so the declaration is the
bound anyone extracting later gets). tar/tar.gz/gzip: members are walked in one
streaming pass, and the walk stops as soon as a limit is crossed, so a gzip
bomb costs at most ``max_archive_ratio`` x its compressed size to reject.
Nested archives are inspected the same way, to ``MAX_NESTING`` levels, all
levels sharing one budget.

Example:
    >>> import io, zipfile
    >>> buf = io.BytesIO()
    >>> with zipfile.ZipFile(buf, "w") as z:
    ...     z.writestr("a.txt", "hi")
    >>> inspect_archive(buf, "zip", UploadSettings()).entries
    1
"""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO

from agora.config import UploadSettings
from agora.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from agora.uploads.sniff import SNIFF_BYTES, sniff

MAX_NESTING = 2
RATIO_FLOOR = 1024 * 1024
_LISTED = 200  # entry names kept in the report


@dataclass
class ArchiveReport:
    """What an archive holds, by declaration (ZIP) or by a streaming walk (tar, gzip)."""

    format: str
    entries: int = 0
    uncompressed_bytes: int = 0
    compressed_bytes: int = 0
    names: list[str] = field(default_factory=list)
    nested: int = 0

    @property
    def ratio(self) -> float:
        """Uncompressed over compressed size."""
        return self.uncompressed_bytes / max(self.compressed_bytes, 1)


def unsafe_member_name(name: str) -> bool:
    """True for names that would escape the extraction folder: absolute paths,
    drive letters, or ``..`` components (with either slash)."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        return True
    return ".." in norm.split("/")


def inspect_archive(
    stream: BinaryIO,
    fmt: str,
    limits: UploadSettings,
    *,
    depth: int = 0,
    report: ArchiveReport | None = None,
) -> ArchiveReport:
    """Walk an archive of format ``zip``, ``tar``, ``tar.gz`` or ``gzip``.
    Raises ``PayloadTooLarge`` (too big, too many entries, compression ratio
    of a bomb) or ``InvalidInput`` (path traversal, links, corrupt, too deep)."""
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    report = report or ArchiveReport(format=fmt)
    report.compressed_bytes += size if depth == 0 else 0
    try:
        if fmt == "zip":
            _walk_zip(stream, limits, depth, report)
        elif fmt in ("tar", "tar.gz"):
            _walk_tar(stream, limits, depth, report)
        elif fmt == "gzip":
            _walk_gzip(stream, limits, report)
        else:
            raise UnsupportedMediaType(f"cannot inspect archive format {fmt!r}")
    except (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError) as exc:
        raise InvalidInput(f"corrupt {fmt} archive: {exc}") from None
    # zipfile: an encrypted member (RuntimeError) or an unsupported compression method.
    except (RuntimeError, NotImplementedError) as exc:
        raise InvalidInput(f"unreadable {fmt} archive: {exc}") from None
    finally:
        stream.seek(0)
    return report


def _count(report: ArchiveReport, name: str, size: int, limits: UploadSettings) -> None:
    report.entries += 1
    report.uncompressed_bytes += size
    if len(report.names) < _LISTED:
        report.names.append(name)
    if unsafe_member_name(name):
        raise InvalidInput(f"archive entry {name!r} escapes the archive folder (path traversal)")
    if report.entries > limits.max_archive_entries:
        raise PayloadTooLarge(f"archive has more than {limits.max_archive_entries} entries")
    _check_totals(report, limits)


def _check_totals(report: ArchiveReport, limits: UploadSettings) -> None:
    if report.uncompressed_bytes > limits.max_archive_uncompressed_bytes:
        raise PayloadTooLarge(
            f"archive expands to more than {limits.max_archive_uncompressed_bytes} bytes"
        )
    # Below RATIO_FLOOR a high ratio is harmless (a few KB of padding compress
    # 1000:1); the ratio only flags archives that also expand to real sizes.
    big = report.uncompressed_bytes > RATIO_FLOOR
    if big and report.compressed_bytes and report.ratio > limits.max_archive_ratio:
        raise PayloadTooLarge(
            f"archive compression ratio {report.ratio:.0f}:1 exceeds "
            f"{limits.max_archive_ratio:.0f}:1 (looks like a decompression bomb)"
        )


def _nested(
    data: BinaryIO, name: str, limits: UploadSettings, depth: int, report: ArchiveReport
) -> None:
    head = data.read(SNIFF_BYTES)
    try:
        inner = sniff(head, name=name)
    except (InvalidInput, UnsupportedMediaType):
        return  # not an archive; other content is not this module's business
    if inner.kind != "archive":
        return
    if depth + 1 > MAX_NESTING:
        raise InvalidInput(f"archives nested deeper than {MAX_NESTING} levels ({name!r})")
    report.nested += 1
    body = io.BytesIO(head + data.read())  # bounded: its size was already counted
    inspect_archive(body, inner.format, limits, depth=depth + 1, report=report)


def _walk_zip(stream: BinaryIO, limits: UploadSettings, depth: int, report: ArchiveReport) -> None:
    with zipfile.ZipFile(stream) as archive:
        infos = archive.infolist()
        if len(infos) > limits.max_archive_entries:
            raise PayloadTooLarge(
                f"archive has {len(infos)} entries (limit {limits.max_archive_entries})"
            )
        for info in infos:
            if stat.S_ISLNK(info.external_attr >> 16):
                raise InvalidInput(f"archive entry {info.filename!r} is a symbolic link")
            _count(report, info.filename, info.file_size, limits)
        for info in infos:
            if not info.is_dir() and info.file_size:
                with archive.open(info) as member:
                    _nested(member, info.filename, limits, depth, report)  # type: ignore[arg-type]


def _walk_tar(stream: BinaryIO, limits: UploadSettings, depth: int, report: ArchiveReport) -> None:
    with tarfile.open(fileobj=stream, mode="r:*") as archive:
        for member in archive:
            if member.issym() or member.islnk():
                raise InvalidInput(f"archive entry {member.name!r} is a link")
            if member.isdev():
                raise InvalidInput(f"archive entry {member.name!r} is a device file")
            _count(report, member.name, member.size, limits)
            if member.isfile() and member.size:
                extracted = archive.extractfile(member)
                if extracted is not None:
                    _nested(extracted, member.name, limits, depth, report)  # type: ignore[arg-type]


def _walk_gzip(stream: BinaryIO, limits: UploadSettings, report: ArchiveReport) -> None:
    # A single gzipped file: inflate in bounded steps, counting, never storing.
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    total = 0
    while chunk := stream.read(64 * 1024):
        data = inflater.decompress(chunk, 1024 * 1024)
        while True:
            total += len(data)
            report.uncompressed_bytes = total
            _check_totals(report, limits)
            if not inflater.unconsumed_tail:
                break
            data = inflater.decompress(inflater.unconsumed_tail, 1024 * 1024)
    if not inflater.eof:
        raise InvalidInput("corrupt gzip archive: truncated stream")
    report.entries = 1
