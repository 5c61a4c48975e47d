"""Small good and bad upload files, built in memory, for tests of the upload
path (unit tests, API tests, plugin authors' tests).

Example:
    >>> png_bomb()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
"""

from __future__ import annotations

import io
import struct
import tarfile
import zipfile
import zlib


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def tiny_png(width: int = 8, height: int = 8, *, alpha: bool = False) -> bytes:
    """A valid PNG (red, optionally with an alpha channel) made with Pillow."""
    from PIL import Image

    mode = "RGBA" if alpha else "RGB"
    color = (255, 0, 0, 128) if alpha else (255, 0, 0)
    out = io.BytesIO()
    Image.new(mode, (width, height), color).save(out, "PNG")
    return out.getvalue()


def tiny_jpeg(width: int = 16, height: int = 16) -> bytes:
    """A valid baseline JPEG."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (0, 128, 255)).save(out, "JPEG")
    return out.getvalue()


def truncated_png() -> bytes:
    """A PNG cut in the middle of its image data (no IEND)."""
    data = tiny_png(64, 64)
    return data[: len(data) // 2]


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A few hundred bytes that declare ``width x height`` 8-bit grey pixels:
    valid signature, IHDR and CRCs, a tiny IDAT of compressed zeros. Decoding
    it would need width*height bytes of memory."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    # A few rows of zeros (filter byte + row) compress to almost nothing.
    idat = zlib.compress(b"\x00" * ((width + 1) * 4), 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def exe_named_png() -> bytes:
    """The start of a Windows PE executable ("MZ" header, DOS stub): upload it
    as ``game.png`` to test that the name is not trusted."""
    stub = b"This program cannot be run in DOS mode.\r\r\n$"
    header = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(48)
    return header + b"\x0e\x1f\xba\x0e\x00\xb4\x09\xcd\x21" + stub + bytes(128)


def tiny_glb() -> bytes:
    """A valid binary glTF of a unit box (12 triangles), exported by trimesh."""
    import trimesh

    data = trimesh.creation.box(extents=(1.0, 1.0, 1.0)).export(file_type="glb")
    return bytes(data)


def tiny_obj() -> bytes:
    """A one-triangle Wavefront OBJ."""
    return b"# triangle\no tri\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"


def zip_bomb(uncompressed_bytes: int = 16 * 1024 * 1024) -> bytes:
    """A ZIP holding one file of zeros: ~1000:1 compression ratio."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("zeros.bin", b"\x00" * uncompressed_bytes)
    return out.getvalue()


def zip_with_traversal(name: str = "../../etc/cron.d/evil") -> bytes:
    """A ZIP whose entry name escapes the extraction folder."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, b"* * * * * root true\n")
    return out.getvalue()


def tiny_zip(files: dict[str, bytes] | None = None) -> bytes:
    """A well-behaved ZIP (default: a readme and a PNG)."""
    files = files if files is not None else {"readme.txt": b"hello", "img.png": tiny_png()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def nested_zip(depth: int) -> bytes:
    """A ZIP inside a ZIP ... ``depth`` levels deep."""
    data = tiny_zip({"leaf.txt": b"leaf"})
    for level in range(depth - 1):
        data = tiny_zip({f"level{level}.zip": data})
    return data


def tar_gz(files: dict[str, bytes]) -> bytes:
    """A gzip-compressed tar (the shape of a ``.unitypackage``)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def python_script(*, broken: bool = False) -> bytes:
    """A small Python module; ``broken=True`` has a syntax error."""
    body = "def jump(height):\n    return height * 2\n"
    return (body + ("def broken(:\n    pass\n" if broken else "")).encode()


def lua_script(*, broken: bool = False) -> bytes:
    """A small Lua chunk; ``broken=True`` misses an ``end``."""
    good = "local speed = 10\nfunction move(x)\n  if x > 0 then\n    return x * speed\n  end\nend\n"
    return (good if not broken else good.rsplit("end", 1)[0]).encode()
