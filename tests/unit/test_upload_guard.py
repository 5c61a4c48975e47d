"""Upload limits: sizes, counts, types by content, image and archive bombs."""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path

import pytest

from agora.config import UploadSettings
from agora.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from agora.testing import samples
from agora.uploads import UploadGuard, spool


@pytest.fixture
def guard() -> UploadGuard:
    return UploadGuard(UploadSettings(max_file_bytes=2 * 1024 * 1024, max_files=3))


def test_good_files_pass_and_stream_is_rewound(guard: UploadGuard) -> None:
    stream = io.BytesIO(samples.tiny_png())
    sniffed = guard.check_file("a.png", stream, "images")
    assert (sniffed.kind, sniffed.media_type) == ("image", "image/png")
    assert stream.tell() == 0
    assert guard.check_file("box.glb", samples.tiny_glb(), "files").format == "glb"
    assert guard.check_file("pack.zip", samples.tiny_zip(), "files").kind == "archive"


def test_empty_file_is_422(guard: UploadGuard) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        guard.check_file("empty.png", b"", "files")


def test_oversized_file_is_413(guard: UploadGuard) -> None:
    with pytest.raises(PayloadTooLarge, match="limit per file"):
        guard.check_file("big.txt", b"a" * (2 * 1024 * 1024 + 1), "files")


def test_too_many_files_is_413(guard: UploadGuard) -> None:
    for i in range(3):
        guard.check_file(f"{i}.txt", b"ok", "files")
    with pytest.raises(PayloadTooLarge, match="limit is 3"):
        guard.check_file("3.txt", b"ok", "files")
    with pytest.raises(PayloadTooLarge):
        UploadGuard(UploadSettings(max_files=2)).check_count(3)


def test_request_total_is_413() -> None:
    guard = UploadGuard(UploadSettings(max_request_bytes=10, max_file_bytes=10))
    guard.check_file("a.txt", b"123456", "files")
    with pytest.raises(PayloadTooLarge, match="in total"):
        guard.check_file("b.txt", b"123456", "files")


def test_truncated_png_is_422(guard: UploadGuard) -> None:
    with pytest.raises(InvalidInput, match="not a valid image"):
        guard.check_file("cut.png", samples.truncated_png(), "images")


@pytest.mark.process
def test_png_bomb_is_413_without_decoding(guard: UploadGuard) -> None:
    bomb = samples.png_bomb()
    assert len(bomb) < 2048
    started = time.perf_counter()
    with pytest.raises(PayloadTooLarge, match="decompression bomb"):
        guard.check_file("bomb.png", bomb, "images")
    assert time.perf_counter() - started < 1.0
    # Below Pillow's own ceiling, our configured limit answers with the dimensions.
    with pytest.raises(PayloadTooLarge, match="8000x8000"):
        guard.check_file("big.png", samples.png_bomb(8000, 8000), "images")


def test_extension_that_lies(guard: UploadGuard) -> None:
    with pytest.raises(UnsupportedMediaType):
        guard.check_file("game.png", samples.exe_named_png(), "images")
    with pytest.raises(UnsupportedMediaType, match="not an image"):
        guard.check_file("photo.png", samples.tiny_glb(), "images")
    sniffed = guard.check_file("model.glb", samples.tiny_png(), "files")
    assert (sniffed.kind, sniffed.extension_matches) == ("image", False)


def test_zip_bomb_is_413() -> None:
    guard = UploadGuard(UploadSettings())
    with pytest.raises(PayloadTooLarge, match="ratio"):
        guard.check_file("bomb.zip", samples.zip_bomb(), "files")
    small = UploadGuard(UploadSettings(max_archive_uncompressed_bytes=1000))
    with pytest.raises(PayloadTooLarge, match="expands"):
        small.check_file("pack.zip", samples.tiny_zip({"a.bin": bytes(2000)}), "files")
    few = UploadGuard(UploadSettings(max_archive_entries=2))
    with pytest.raises(PayloadTooLarge, match="entries"):
        few.check_file("pack.zip", samples.tiny_zip({f"{i}.txt": b"x" for i in range(3)}))


def test_tar_gz_bomb_stops_early() -> None:
    guard = UploadGuard(UploadSettings())
    bomb = samples.tar_gz({"zeros.bin": bytes(32 * 1024 * 1024)})
    with pytest.raises(PayloadTooLarge, match="ratio"):
        guard.check_file("pack.unitypackage", bomb, "files")


def test_unsafe_archive_entries_are_422(guard: UploadGuard) -> None:
    with pytest.raises(InvalidInput, match="traversal"):
        guard.check_file("evil.zip", samples.zip_with_traversal(), "files")
    with pytest.raises(InvalidInput, match="traversal"):
        UploadGuard(UploadSettings()).check_file(
            "evil.zip", samples.zip_with_traversal("/etc/passwd"), "files"
        )
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        link = tarfile.TarInfo("link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/shadow"
        archive.addfile(link)
    with pytest.raises(InvalidInput, match="link"):
        UploadGuard(UploadSettings()).check_file("l.tgz", out.getvalue(), "files")


def test_nested_archives_depth() -> None:
    assert (
        UploadGuard(UploadSettings()).check_file("n.zip", samples.nested_zip(3)).kind == "archive"
    )
    with pytest.raises(InvalidInput, match="nested deeper"):
        UploadGuard(UploadSettings()).check_file("n.zip", samples.nested_zip(4), "files")


def test_corrupt_zip_is_422(guard: UploadGuard) -> None:
    data = samples.tiny_zip()
    with pytest.raises(InvalidInput, match="corrupt zip"):
        guard.check_file("cut.zip", data[: len(data) - 30], "files")


def test_spool_limits_non_seekable_streams() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            return self.data.read(n)

    spooled = spool(Pipe(b"abc"), max_bytes=10)  # type: ignore[arg-type]
    assert UploadGuard(UploadSettings()).check_file("a.txt", spooled).format == "text"
    with pytest.raises(PayloadTooLarge):
        spool(Pipe(b"x" * 11), max_bytes=10)  # type: ignore[arg-type]


def test_real_samples_pass(data_dir: Path) -> None:
    pngs = sorted((data_dir / "arcade-kenney-sprites").rglob("*.png"))[:10]
    glbs = sorted((data_dir / "kenney-city-builder-glb" / "models").glob("*.glb"))[:5]
    if not pngs or not glbs:
        pytest.skip("sample PNG/GLB files not found")
    guard = UploadGuard(UploadSettings(max_files=100))
    for path in pngs:
        with path.open("rb") as fh:
            assert guard.check_file(path.name, fh, "images").format == "png"
    for path in glbs:
        with path.open("rb") as fh:
            assert guard.check_file(path.name, fh, "files").format == "glb"
