"""Deterministic file analysis: formats, engines and facts from real structures."""

from __future__ import annotations

import io
import json
import struct
import tarfile
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from agora.tagging import analyse_files


def png(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (w, h), (255, 0, 0, 128)).save(buf, format="PNG")
    return buf.getvalue()


def glb(doc: dict, binary: bytes = b"") -> bytes:
    js = json.dumps(doc).encode()
    js += b" " * (-len(js) % 4)
    binary += b"\0" * (-len(binary) % 4)
    chunks = struct.pack("<I4s", len(js), b"JSON") + js
    if binary:
        chunks += struct.pack("<I4s", len(binary), b"BIN\x00") + binary
    return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks


def tags_of(files: list[tuple[str, bytes]]) -> dict[tuple[str, str], float]:
    tags, _ = analyse_files(files)
    return {t.key: t.confidence for t in tags}


def test_glb_counts_triangles_textures_and_animations() -> None:
    texture = png(512, 256)
    doc = {
        "asset": {"version": "2.0"},
        "accessors": [{"count": 300}, {"count": 36}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]},
                   {"primitives": [{"attributes": {"POSITION": 0}}]}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": len(texture)}],
        "images": [{"bufferView": 0, "mimeType": "image/png"}],
        "animations": [{"channels": [], "samplers": []}],
    }  # fmt: skip
    tags, facts = analyse_files([("robot.glb", glb(doc, texture))])
    keys = {t.key: t.confidence for t in tags}
    assert keys[("format", "gltf")] == 1.0
    assert {("engine_compatibility", e) for e in ("godot", "any_engine", "web")} <= set(keys)
    assert facts["polycount"] == 12 + 100  # 36 indices + 300 positions, as triangles
    assert facts["textures"] == [[512, 256]] and facts["texture_max"] == 512
    assert facts["animated"] is True
    assert all(t.source_model == "file-analysis@1.0" for t in tags)


def test_real_kenney_glb_models(data_dir: Path) -> None:
    models = sorted((data_dir / "kenney-city-builder-glb" / "models").glob("*.glb"))[:3]
    tags, facts = analyse_files([(p.name, p.read_bytes()) for p in models])
    assert {"gltf", "godot"} <= {t.name for t in tags}
    assert facts["polycount"] > 20 and facts["animated"] is False


def test_obj_fbx_unitypackage_godot_scripts_and_audio() -> None:
    obj = b"v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1 2 3 4\nf 1 2 3\n"
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w:gz") as tar:
        for name, body in [("abc123/pathname", b"Assets/Tank.prefab"), ("abc123/asset", b"x")]:
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    found = tags_of([
        ("tank.obj", obj),
        ("tank.fbx", b"Kaydara FBX Binary  \x00\x1a\x00" + b"\0" * 64),
        ("tank.unitypackage", tar_buf.getvalue()),
        ("level.tscn", b'[gd_scene load_steps=2 format=3]\n'),
        ("player.gd", b"extends CharacterBody2D\n"),
        ("Enemy.cs", b"using UnityEngine;\n"),
        ("boom.ogg", b"OggS" + b"\0" * 40),
    ])  # fmt: skip
    for key in [("format", "obj"), ("format", "fbx"), ("format", "unitypackage"),
                ("format", "godot_resource"), ("format", "script_gdscript"),
                ("format", "script_csharp"), ("format", "audio"),
                ("engine_compatibility", "unity"), ("engine_compatibility", "unreal"),
                ("engine_compatibility", "godot")]:  # fmt: skip
        assert key in found, key
    assert found[("format", "unitypackage")] == 1.0
    assert found[("format", "script_gdscript")] == 0.9  # extension only
    _, facts = analyse_files([("tank.obj", obj)])
    assert facts["polycount"] == 3  # a quad is two triangles, plus one triangle


def test_png_sprite_vs_sprite_sheet_and_zip_members() -> None:
    found = tags_of([("hero.png", png(64, 64)), ("hero_walk.png", png(512, 64))])
    assert ("format", "png_sprite") in found and ("format", "sprite_sheet_png") in found
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("pack/tank.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
        zf.writestr("pack/readme.txt", "hello")
    found = tags_of([("pack.zip", buf.getvalue())])
    assert found[("format", "archive")] == 1.0 and ("format", "obj") in found


@pytest.mark.parametrize(
    "name,data",
    [("broken.glb", b"glTF\x02\x00\x00\x00garbage"), ("fake.unitypackage", b"not gzip"),
     ("bad.zip", b"PK\x03\x04 truncated"), ("x.png", b"\x89PNG\r\n\x1a\n broken")],
)  # fmt: skip
def test_corrupt_files_never_raise_and_are_only_extension_sure(name: str, data: bytes) -> None:
    tags, facts = analyse_files([(name, data)])
    assert all(t.confidence <= 1.0 for t in tags)
    if name.endswith(".glb"):
        assert {t.name: t.confidence for t in tags}["gltf"] == 0.9
    assert facts["files"] >= 1
