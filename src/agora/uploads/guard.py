"""Upload limits checked before anything is stored.

One ``UploadGuard`` per request: it counts files and bytes across calls.
Each file is classified by content (``sniff``), then checked cheaply:
images by their header dimensions (Pillow reads the size without decoding
pixels, so a decompression bomb is refused before it is inflated) plus
Pillow's ``verify()`` of the structure, archives by their directory
(``inspect_archive``). Full decoding is the pipeline's ``integrity`` step.

Example:
    >>> guard = UploadGuard(UploadSettings())
    >>> guard.check_file("notes.txt", b"hello", "files").media_type
    'text/plain'
"""

from __future__ import annotations

import io
import tempfile
import warnings
from typing import BinaryIO, Literal

from PIL import Image, UnidentifiedImageError

from agora.config import UploadSettings
from agora.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from agora.uploads.archives import inspect_archive
from agora.uploads.resources import is_referenced
from agora.uploads.sniff import FORMATS, SNIFF_BYTES, Sniffed, sniff

Field = Literal["files", "images"]
_SPOOL_BYTES = 8 * 1024 * 1024
BUFFER = Sniffed(*FORMATS["bin"][:2], extension_matches=True, format="bin")


class UploadGuard:
    """Enforces ``UploadSettings`` on the files of one request."""

    def __init__(self, settings: UploadSettings) -> None:
        self.settings = settings
        self.files_seen = 0
        self.bytes_seen = 0

    def check_count(self, count: int) -> None:
        """Refuse a request announcing more files than ``max_files`` up front."""
        if count > self.settings.max_files:
            raise PayloadTooLarge(
                f"{count} files in one upload; the limit is {self.settings.max_files}"
            )

    def check_file(
        self,
        name: str | None,
        data: bytes | BinaryIO,
        field: Field = "files",
        *,
        resources: frozenset[str] = frozenset(),
    ) -> Sniffed:
        """Check one file and return its sniffed type. A stream is left at
        position 0 so the caller can hand it to ``BlobStore.put``; a
        non-seekable stream is not supported (wrap it in a spooled file first).
        ``resources`` are the names that other files of the same upload refer
        to (a glTF's external buffers, see ``agora.uploads.resources``): binary
        content of no known format is accepted under such a name only.

        Raises ``InvalidInput`` (empty, truncated, corrupt, unsafe archive),
        ``PayloadTooLarge`` (size, count, pixels, archive bomb) or
        ``UnsupportedMediaType`` (unknown content, non-image in ``images``).
        """
        label = name or f"{field}[{self.files_seen}]"
        self.files_seen += 1
        self.check_count(self.files_seen)
        stream = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
        size = _size_of(stream)
        if size == 0:
            raise InvalidInput(f"{label} is empty (0 bytes)", field=field, file=name)
        if size > self.settings.max_file_bytes:
            raise PayloadTooLarge(
                f"{label} is {size} bytes; the limit per file is {self.settings.max_file_bytes}",
                field=field,
                file=name,
            )
        self.bytes_seen += size
        if self.bytes_seen > self.settings.max_request_bytes:
            raise PayloadTooLarge(
                f"upload exceeds {self.settings.max_request_bytes} bytes in total",
                field=field,
                file=name,
            )
        try:
            head = stream.read(SNIFF_BYTES)
            try:
                sniffed = sniff(head, name=name, size=size)
            except UnsupportedMediaType:
                if field != "files" or not is_referenced(name, resources):
                    raise
                # A glTF's vertex buffer: raw numbers, no magic. Accepted
                # because a model in this upload names it; never executed.
                return BUFFER
            if field == "images" and sniffed.kind != "image":
                raise UnsupportedMediaType(
                    f"{label} in 'images' is {sniffed.media_type}, not an image "
                    "(PNG, JPEG, GIF, WebP, BMP or TIFF)",
                    field=field,
                    file=name,
                    media_type=sniffed.media_type,
                )
            if sniffed.kind == "image":
                self._check_image(stream, label)
            elif sniffed.kind == "archive" or sniffed.format == "3mf":
                # A 3MF model is a zip package: the same bomb checks apply.
                inspect_archive(stream, _archive_format(sniffed.format), self.settings)
        finally:
            stream.seek(0)
        return sniffed

    def _check_image(self, stream: BinaryIO, label: str) -> None:
        limit = self.settings.max_image_pixels
        stream.seek(0)
        try:
            with warnings.catch_warnings():
                # Pillow warns about large images; our own limit decides.
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(stream) as image:  # header only: no pixels decoded
                    width, height = image.size
                    if width * height > limit:
                        raise PayloadTooLarge(
                            f"{label} declares {width}x{height} = {width * height} pixels; "
                            f"the limit is {limit} (decompression bomb protection)",
                            width=width,
                            height=height,
                        )
                    image.verify()  # structure and checksums, still no pixel buffer
        except Image.DecompressionBombError as exc:
            # Pillow's own, higher, process-wide ceiling fired inside open().
            raise PayloadTooLarge(
                f"{label} declares more than {limit} pixels (decompression bomb protection): {exc}"
            ) from None
        except UnidentifiedImageError:
            raise InvalidInput(
                f"{label} is not a decodable image (corrupt or truncated header)"
            ) from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            # Pillow reports truncated and malformed files with these classes.
            raise InvalidInput(f"{label} is not a valid image: {exc}") from None


def _archive_format(fmt: str) -> str:
    return "zip" if fmt == "3mf" else fmt


def _size_of(stream: BinaryIO) -> int:
    if not stream.seekable():
        raise InvalidInput("upload stream must be seekable; spool it first (see spool())")
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def spool(source: BinaryIO, max_bytes: int) -> BinaryIO:
    """Copy a non-seekable stream into a spooled temporary file (memory up to
    8 MiB, then disk), refusing it as soon as it passes ``max_bytes``."""
    # Returned open to the caller, who closes it: no context manager here.
    out = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
    total = 0
    while chunk := source.read(1024 * 1024):
        total += len(chunk)
        if total > max_bytes:
            out.close()
            raise PayloadTooLarge(f"upload exceeds {max_bytes} bytes")
        out.write(chunk)
    out.seek(0)
    return out  # type: ignore[return-value]
