"""Content sniffing decides types by bytes, never by names."""

from __future__ import annotations

import io
import struct
import tarfile
from pathlib import Path

import pytest

from agora.errors import InvalidInput, UnsupportedMediaType
from agora.testing import samples
from agora.uploads.sniff import sniff


def _image(fmt: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("PNG", "png"),
        ("JPEG", "jpeg"),
        ("GIF", "gif"),
        ("WEBP", "webp"),
        ("BMP", "bmp"),
        ("TIFF", "tiff"),
    ],
)
def test_images(fmt: str, expected: str) -> None:
    s = sniff(_image(fmt), name=None)
    assert (s.format, s.kind) == (expected, "image")
    assert s.media_type.startswith("image/")


def test_models() -> None:
    assert sniff(samples.tiny_glb(), name="box.glb").format == "glb"
    assert sniff(samples.tiny_obj(), name="tri.obj").format == "obj"
    gltf = b'{"asset": {"version": "2.0"}, "scenes": []}'
    assert sniff(gltf, name="a.gltf").format == "gltf"
    ascii_stl = b"solid x\n facet normal 0 0 1\n outer loop\n vertex 0 0 0\n endloop\nendsolid x\n"
    assert sniff(ascii_stl, name="a.stl").format == "stl"
    # Binary STL whose header starts with "solid": the size equation decides.
    binary_stl = b"solid exported" + bytes(66) + struct.pack("<I", 1) + bytes(50)
    assert sniff(binary_stl, name="b.stl", size=len(binary_stl)).format == "stl"
    fbx = b"Kaydara FBX Binary  \x00\x1a\x00" + struct.pack("<I", 7400) + bytes(40)
    assert sniff(fbx, name="a.fbx").kind == "model3d"
    assert (
        sniff(b"ply\nformat ascii 1.0\nelement vertex 0\nend_header\n", name=None).format == "ply"
    )


def test_archives() -> None:
    assert sniff(samples.tiny_zip(), name="a.zip").format == "zip"
    unity = samples.tar_gz({"0123/asset": b"data", "0123/pathname": b"Assets/a.png"})
    s = sniff(unity, name="pack.unitypackage")
    assert (s.format, s.kind, s.extension_matches) == ("tar.gz", "archive", True)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        info = tarfile.TarInfo("a.txt")
        info.size = 1
        archive.addfile(info, io.BytesIO(b"a"))
    assert sniff(out.getvalue(), name=None).format == "tar"


@pytest.mark.parametrize(
    ("source", "name", "expected"),
    [
        (samples.python_script(), "x.py", "python"),
        (samples.lua_script(), "x.lua", "lua"),
        (
            b"using UnityEngine;\npublic class Player : MonoBehaviour {\n  void Update() {}\n}\n",
            "p.cs",
            "csharp",
        ),
        (b"extends Node2D\n\nvar speed = 10\n\nfunc _ready():\n\tpass\n", "p.gd", "gdscript"),
        (b"const speed = 10;\nfunction move(x) {\n  return x * speed;\n}\n", "m.js", "javascript"),
        (b'{"name": "pack", "version": 1}', "meta.json", "json"),
        (b"Thanks for buying this pack!\n", "README.txt", "text"),
        (b"%PDF-1.7\n%...", "manual.pdf", "pdf"),
    ],
)
def test_text_formats_by_content(source: bytes, name: str, expected: str) -> None:
    assert sniff(source, name=name).format == expected
    # The verdict does not depend on the name at all for these.
    assert sniff(source, name=None).format == expected


def test_extension_that_lies_is_classified_by_content() -> None:
    s = sniff(samples.tiny_png(), name="model.glb")
    assert (s.format, s.kind, s.extension_matches) == ("png", "image", False)
    with pytest.raises(UnsupportedMediaType):
        sniff(samples.exe_named_png(), name="game.png")
    assert sniff(samples.python_script(), name="notes.txt").extension_matches
    assert not sniff(samples.python_script(), name="pic.png").extension_matches


def test_empty_and_non_utf8() -> None:
    with pytest.raises(InvalidInput):
        sniff(b"", name="empty.png")
    with pytest.raises(UnsupportedMediaType):
        sniff("café".encode("latin-1") * 10 + bytes([0x80, 0x81]) * 5, name="x.txt")


def test_real_sample_files(data_dir: Path) -> None:
    pngs = sorted((data_dir / "arcade-kenney-sprites").rglob("*.png"))[:20]
    glbs = sorted((data_dir / "kenney-city-builder-glb" / "models").glob("*.glb"))[:10]
    if not pngs or not glbs:
        pytest.skip("sample PNG/GLB files not found")
    assert all(sniff(p.read_bytes()[:65536], name=p.name).format == "png" for p in pngs)
    assert all(sniff(p.read_bytes()[:65536], name=p.name).format == "glb" for p in glbs)
