"""The integrity step: every file decodes, loads or parses; bad files hold the
asset with a reason and never raise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agora.blobs import LocalBlobStore
from agora.config import Settings
from agora.errors import AgoraError
from agora.pipeline.base import StepContext
from agora.pipeline.steps.integrity import IntegrityStep
from agora.testing import samples
from agora.uploads import sniff


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


@pytest.fixture
def blobs(settings: Settings) -> LocalBlobStore:
    return LocalBlobStore(settings.blobs.url)


def _ref(blobs: LocalBlobStore, name: str, data: bytes) -> dict[str, Any]:
    try:
        s = sniff(data, name=name, size=len(data))
        media_type, kind = s.media_type, s.kind
    except AgoraError:  # bad bytes stored anyway: the step must cope
        media_type, kind = "application/octet-stream", "other"
    return blobs.put(data, name=name, media_type=media_type, kind=kind).to_dict()


def _run(
    blobs: LocalBlobStore,
    settings: Settings,
    files: dict[str, bytes],
    images: dict[str, bytes] | None = None,
):
    asset = {
        "id": "a1",
        "files": [_ref(blobs, n, d) for n, d in files.items()],
        "images": [_ref(blobs, n, d) for n, d in (images or {}).items()],
    }
    return IntegrityStep().run(StepContext(asset=asset, blobs=blobs, settings=settings))


def test_sound_files_pass_with_facts(blobs: LocalBlobStore, settings: Settings) -> None:
    outcome = _run(
        blobs,
        settings,
        files={
            "box.glb": samples.tiny_glb(),
            "tri.obj": samples.tiny_obj(),
            "a.py": samples.python_script(),
            "b.lua": samples.lua_script(),
            "pack.zip": samples.tiny_zip(),
            "readme.txt": b"hello\n",
        },
        images={"cover.png": samples.tiny_png(32, 16, alpha=True), "b.jpg": samples.tiny_jpeg()},
    )
    assert not outcome.hold and outcome.confidence == 1.0
    out = outcome.output
    assert out["ok"] and out["checked"] == 8 and out["corrupt"] == 0
    by_name = {f["name"]: f for f in out["files"]}
    cover = by_name["cover.png"]["facts"]
    assert (cover["width"], cover["height"], cover["has_alpha"], cover["frames"]) == (
        32,
        16,
        True,
        1,
    )
    box = by_name["box.glb"]["facts"]
    assert (box["vertices"], box["faces"], box["watertight"]) == (8, 12, True)
    assert box["bounds"] == [[-0.5, -0.5, -0.5], [0.5, 0.5, 0.5]]
    assert by_name["b.lua"]["facts"]["parser"] == "tree-sitter-lua"
    assert by_name["pack.zip"]["facts"]["entries"] == 2
    assert set(by_name["a.py"]) >= {"sha256", "kind", "ok", "facts"}


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("cut.png", samples.truncated_png()),
        ("bomb.png", samples.png_bomb()),
        ("broken.py", samples.python_script(broken=True)),
        ("broken.lua", samples.lua_script(broken=True)),
        ("broken.cs", b"using System;\npublic class A {\n  void M() { int x = ; }\n"),
        ("broken.js", b"const a = (1, ;\nfunction f( {\n"),
        ("broken.gd", b"extends Node\nfunc _ready(:\n\tprint(1\n"),
        ("broken.json", b'{"name": "x",'),
        ("game.png", samples.exe_named_png()),
        ("bomb.zip", samples.zip_bomb()),
        ("cut.glb", samples.tiny_glb()[:60]),
    ],
)
def test_corrupt_file_holds_without_raising(
    blobs: LocalBlobStore, settings: Settings, name: str, data: bytes
) -> None:
    outcome = _run(blobs, settings, files={"good.txt": b"fine\n", name: data})
    assert outcome.hold
    assert name in (outcome.reason or "")
    bad = [f for f in outcome.output["files"] if not f["ok"]]
    assert [f["name"] for f in bad] == [name]
    assert bad[0]["error"]


def test_missing_blob_and_non_image_in_images(blobs: LocalBlobStore, settings: Settings) -> None:
    ghost = {
        "sha256": "f" * 64,
        "size": 3,
        "media_type": "image/png",
        "name": "gone.png",
        "kind": "image",
    }
    glb = _ref(blobs, "fake.png", samples.tiny_glb())
    asset = {"files": [], "images": [ghost, glb]}
    outcome = IntegrityStep().run(StepContext(asset=asset, blobs=blobs, settings=settings))
    assert outcome.hold and outcome.output["corrupt"] == 2
    errors = [f["error"] for f in outcome.output["files"]]
    assert "missing" in errors[0] and "not an image" in errors[1]


def test_deterministic(blobs: LocalBlobStore, settings: Settings) -> None:
    files = {"box.glb": samples.tiny_glb(), "cut.png": samples.truncated_png()}
    assert _run(blobs, settings, files).output == _run(blobs, settings, files).output


def test_real_samples(blobs: LocalBlobStore, settings: Settings, data_dir: Path) -> None:
    pngs = sorted((data_dir / "arcade-kenney-sprites").rglob("*.png"))[:5]
    glbs = sorted((data_dir / "kenney-city-builder-glb" / "models").glob("*.glb"))[:3]
    if not pngs or not glbs:
        pytest.skip("sample PNG/GLB files not found")
    outcome = _run(
        blobs,
        settings,
        files={p.name: p.read_bytes() for p in glbs},
        images={p.name: p.read_bytes() for p in pngs},
    )
    assert outcome.output["ok"], outcome.reason
    models = [f["facts"] for f in outcome.output["files"] if f["kind"] == "model3d"]
    assert all(m["vertices"] > 0 and m["faces"] > 0 for m in models)
    # Kenney's GLBs reference their texture atlas as a sibling file.
    assert all("Textures/colormap.png" in m["external_resources"] for m in models)
