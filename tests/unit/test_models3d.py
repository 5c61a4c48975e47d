"""3D validation: every broken mesh gets the defect it was broken with, sound
models pass, and no hostile file escapes its sandbox as an exception."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agora.quality.models3d import SandboxLimits, validate_model
from agora.quality.models3d.analyse import analyse
from agora.testing.broken_meshes import REJECTED, BrokenMesh, broken_meshes, clean_mesh_files
from agora.uploads.sniff import SNIFF_BYTES, sniff

DEMO_MODELS = Path(__file__).resolve().parents[2] / "src" / "agora" / "demo" / "assets" / "models"
CASES = broken_meshes()


def _write(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    # The model: the .gltf of a multi-file glTF, else the first file.
    return folder / next((n for n in files if n.endswith(".gltf")), next(iter(files)))


def _analyse(path: Path, budget: int | None = None) -> dict[str, Any]:
    """The in-process analysis, typed by content as the step types it."""
    fmt = sniff(path.read_bytes()[:SNIFF_BYTES], name=path.name, size=path.stat().st_size)
    assimp = "assimp" if fmt.format in ("fbx", "dae") else None
    return analyse(path, fmt.format, budget=budget, assimp=assimp, workdir=path.parent)


def _codes(report: dict[str, Any]) -> set[str]:
    return {d["code"] for d in report["defects"]}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_broken_mesh_gets_its_defect(case: BrokenMesh, tmp_path: Path) -> None:
    path = _write(tmp_path, case.files)
    try:
        report = _analyse(path, case.budget)
    except Exception as exc:  # noqa: BLE001 - the upload would refuse it
        codes, report = {REJECTED}, {"verdict": "fail", "error": str(exc)}
    else:
        codes = _codes(report)
    for group in case.expected:
        assert codes & group, f"{case.name}: expected one of {sorted(group)}, got {report}"
    if case.breakage != "holes":  # an open surface alone may be the design: info
        assert report["verdict"] in ("warn", "fail")


@pytest.mark.parametrize("fmt", ["glb", "obj", "ply", "stl", "off"])
def test_clean_closed_mesh_is_ok(fmt: str, tmp_path: Path) -> None:
    report = _analyse(_write(tmp_path, clean_mesh_files(fmt)), budget=100_000)
    assert report["verdict"] == "ok", report["defects"]
    assert report["loaded"] and report["faces"] == 320
    assert report["watertight"] and report["manifold"] and report["winding_consistent"]
    assert report["degenerate_faces"] == report["duplicate_faces"] == 0
    assert report["bbox"] == [[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]]


def test_gltf_with_external_buffer_loads(tmp_path: Path) -> None:
    files = clean_mesh_files("gltf")
    assert any(n.endswith(".bin") for n in files)
    report = _analyse(_write(tmp_path, files))
    assert report["verdict"] == "ok" and report["faces"] == 320
    assert report["scale_units"] == "meters" and report["nodes"] >= 1


def test_kenney_glb_without_its_texture_warns(tmp_path: Path) -> None:
    glb = DEMO_MODELS / "building-garage.glb"
    alone = _analyse(_write(tmp_path / "alone", {"garage.glb": glb.read_bytes()}))
    assert alone["loaded"] and alone["missing_textures"] == ["Textures/colormap.png"]
    assert "missing_textures" in _codes(alone) and alone["verdict"] == "warn"
    texture = (DEMO_MODELS / "Textures" / "colormap.png").read_bytes()
    both = _write(
        tmp_path / "both",
        {"garage.glb": glb.read_bytes(), "Textures/colormap.png": texture},
    )
    report = _analyse(both)
    assert report["missing_textures"] == [] and report["uvs"]
    assert report["faces"] > 0 and report["nodes"] >= 1


def test_polycount_budget(tmp_path: Path) -> None:
    path = _write(tmp_path, clean_mesh_files("glb"))
    assert not _analyse(path, budget=320)["over_budget"]
    report = _analyse(path, budget=319)
    assert report["over_budget"] and report["polycount_budget"] == 319
    assert "over_budget" in _codes(report)


def test_sandbox_reports_like_the_analysis(tmp_path: Path) -> None:
    path = _write(tmp_path, clean_mesh_files("glb"))
    limits = SandboxLimits(timeout_s=60, memory_mb=2048, assimp=None)
    report = validate_model(path, "glb", budget=None, limits=limits)
    assert report["verdict"] == "ok" and report["faces"] == 320


def test_sandbox_survives_corrupt_and_starved_children(tmp_path: Path) -> None:
    glb = clean_mesh_files("glb")["icosphere.glb"]
    cut = _write(tmp_path, {"cut.glb": glb[:100]})
    limits = SandboxLimits(timeout_s=60, memory_mb=2048, assimp=None)
    report = validate_model(cut, "glb", budget=None, limits=limits)
    assert report["verdict"] == "fail" and "load_failed" in _codes(report)
    # A child that cannot even map numpy within its memory limit dies; the
    # caller still gets a verdict with the reason, never an exception.
    starved = SandboxLimits(timeout_s=60, memory_mb=40, assimp=None)
    report = validate_model(cut, "glb", budget=None, limits=starved)
    assert report["verdict"] == "fail" and _codes(report) == {"resource_limit"}


def test_nan_vertices_never_reach_json(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.breakage == "nan" and c.name.endswith(".obj"))
    limits = SandboxLimits(timeout_s=60, memory_mb=2048, assimp=None)
    report = validate_model(_write(tmp_path, case.files), "obj", budget=None, limits=limits)
    assert "non_finite_vertices" in _codes(report)
    assert report["bbox"] is not None  # from the finite vertices only


def test_fbx_without_assimp_is_unsupported_not_passed(tmp_path: Path) -> None:
    fbx = _write(tmp_path, {"a.fbx": b"; FBX 7.5.0 project file\nObjects:  {\n}\n"})
    report = analyse(fbx, "fbx", budget=None, assimp=None, workdir=tmp_path)
    assert report["verdict"] == "fail" and _codes(report) == {"unsupported_format"}
    assert "assimp-utils" in report["defects"][0]["message"]


@pytest.mark.skipif(shutil.which("assimp") is None, reason="Debian assimp-utils not installed")
@pytest.mark.parametrize(("flag", "suffix"), [("-ffbxa", "fbx"), ("-fcollada", "dae")])
def test_assimp_formats_validate(flag: str, suffix: str, tmp_path: Path) -> None:
    glb = DEMO_MODELS / "building-garage.glb"
    (tmp_path / "Textures").mkdir()
    shutil.copy(DEMO_MODELS / "Textures" / "colormap.png", tmp_path / "Textures")
    out = tmp_path / f"garage.{suffix}"
    subprocess.run(["assimp", "export", str(glb), str(out), flag], check=True, capture_output=True)
    report = _analyse(out)
    assert report["loaded"] and report["format"] == suffix, report
    assert report["missing_textures"] == [], report
    assert report["faces"] == 196 and report["nodes"] >= 1
    assert report["verdict"] in ("ok", "warn")
    limits = SandboxLimits(timeout_s=60, memory_mb=2048, assimp="assimp")
    sandboxed = validate_model(out, suffix, budget=None, limits=limits)
    assert sandboxed["faces"] == 196 and sandboxed["verdict"] == report["verdict"]


def test_step_places_sidecars_and_is_deterministic(tmp_path: Path) -> None:
    from agora.blobs import LocalBlobStore
    from agora.config import Settings
    from agora.pipeline.base import StepContext
    from agora.quality.models3d.step import Models3DStep

    settings = Settings(data_dir=tmp_path / "data")
    blobs = LocalBlobStore(settings.blobs.url)
    garage = (DEMO_MODELS / "building-garage.glb").read_bytes()
    texture = (DEMO_MODELS / "Textures" / "colormap.png").read_bytes()
    # The model names "Textures/colormap.png"; the client sent the base name only.
    files = [
        blobs.put(
            garage, name="garage.glb", media_type="model/gltf-binary", kind="model3d"
        ).to_dict(),
        blobs.put(texture, name="colormap.png", media_type="image/png", kind="image").to_dict(),
    ]
    asset = {"id": "a1", "category": "items", "files": files, "images": []}
    ctx = StepContext(asset=asset, blobs=blobs, settings=settings)
    first = Models3DStep().run(ctx)
    model = first.output["models"][0]
    assert first.output["checked"] == 1 and model["name"] == "garage.glb"
    assert model["missing_textures"] == [] and model["polycount_budget"] == 10_000
    assert first.output["verdict"] == model["verdict"] and not first.hold
    assert Models3DStep().run(ctx).output == first.output
    only_images = {"id": "a2", "files": [files[1]], "images": []}
    none = Models3DStep().run(StepContext(asset=only_images, blobs=blobs, settings=settings))
    assert none.output == {"models": [], "checked": 0, "skipped": 0, "verdict": None, "defects": []}
