"""3D validation over the API: a glTF with an external buffer uploaded as
several files or as one zip validates; a broken model holds the asset with
the reason; an empty OBJ is flagged like an empty PLY."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agora.api.app import create_app
from agora.config import Settings
from agora.runtime import Platform
from agora.testing.api import bearer, drain_pipeline
from agora.testing.broken_meshes import clean_mesh_files

STEP = "agora.quality.models3d.step:Models3DStep"
DEMO_MODELS = Path(__file__).resolve().parents[2] / "src" / "agora" / "demo" / "assets" / "models"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    # The step is added by import path: the entry point is only seen once the
    # package is reinstalled, and this must not depend on that.
    settings = Settings.load(data_dir=tmp_path / "agora", pipeline={"extra_steps": [STEP]})
    p = Platform.build(settings)
    yield p
    p.close()


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform, start_background=False)) as c:
        yield c


@pytest.fixture
def token(platform: Platform) -> str:
    return platform.keys.create(["read", "write"]).token


def _upload(client: TestClient, token: str, files: dict[str, bytes], category: str = "") -> str:
    r = client.put("/api/v1/sellers/s1", headers=bearer(token), json={"name": "Forge"})
    assert r.status_code == 200, r.text
    meta = {"title": "Model", "seller_id": "s1"} | ({"category": category} if category else {})
    multipart: list[tuple[str, Any]] = [("metadata", (None, json.dumps(meta)))]
    multipart += [
        ("files", (name, data, "application/octet-stream")) for name, data in files.items()
    ]
    r = client.post("/api/v1/assets", headers=bearer(token), files=multipart)
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def _result(client: TestClient, platform: Platform, token: str, asset_id: str) -> dict[str, Any]:
    drain_pipeline(platform)
    r = client.get(f"/api/v1/assets/{asset_id}/results", headers=bearer(token))
    results = {x["step"]: x for x in r.json()["results"]}
    assert results["models3d"]["model"] == "models3d@1.0"
    return results


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_gltf_with_external_buffer_as_several_files(
    client: TestClient, platform: Platform, token: str
) -> None:
    asset_id = _upload(client, token, clean_mesh_files("gltf"))
    results = _result(client, platform, token, asset_id)
    out = results["models3d"]["output"]
    assert out["checked"] == 1 and out["verdict"] == "ok", out
    model = out["models"][0]
    assert model["loaded"] and model["format"] == "gltf" and model["faces"] == 320
    assert results["integrity"]["output"]["ok"], results["integrity"]["output"]
    asset = client.get(f"/api/v1/assets/{asset_id}", headers=bearer(token)).json()
    assert asset["status"] == "active"


def test_gltf_buffer_alone_is_refused(client: TestClient, token: str) -> None:
    files = clean_mesh_files("gltf")
    buffer = {n: d for n, d in files.items() if n.endswith(".bin")}
    client.put("/api/v1/sellers/s1", headers=bearer(token), json={"name": "Forge"})
    multipart = [("metadata", (None, json.dumps({"title": "x", "seller_id": "s1"})))]
    multipart += [("files", (n, d, "application/octet-stream")) for n, d in buffer.items()]
    r = client.post("/api/v1/assets", headers=bearer(token), files=multipart)
    assert r.status_code == 415 and r.headers["content-type"] == "application/problem+json"


def test_zip_with_gltf_buffer_and_texture(
    client: TestClient, platform: Platform, token: str
) -> None:
    files = clean_mesh_files("gltf")
    garage = (DEMO_MODELS / "building-garage.glb").read_bytes()
    texture = (DEMO_MODELS / "Textures" / "colormap.png").read_bytes()
    bundle = {f"sphere/{n}": d for n, d in files.items()}
    bundle |= {"garage/garage.glb": garage, "garage/Textures/colormap.png": texture}
    asset_id = _upload(client, token, {"pack.zip": _zip(bundle)}, category="environment-3d")
    out = _result(client, platform, token, asset_id)["models3d"]["output"]
    by_name = {m["name"]: m for m in out["models"]}
    assert set(by_name) == {"pack.zip:garage/garage.glb", "pack.zip:sphere/model.gltf"}
    garage_report = by_name["pack.zip:garage/garage.glb"]
    assert garage_report["missing_textures"] == [] and garage_report["uvs"]
    assert garage_report["polycount_budget"] == 250_000
    assert all(m["loaded"] for m in out["models"])


def test_broken_model_holds_with_reason(client: TestClient, platform: Platform, token: str) -> None:
    files = clean_mesh_files("gltf")
    only_gltf = {n: d for n, d in files.items() if n.endswith(".gltf")}
    asset_id = _upload(client, token, only_gltf)
    results = _result(client, platform, token, asset_id)
    out = results["models3d"]["output"]
    assert out["verdict"] == "fail" and results["models3d"]["hold"]
    assert [d["code"] for d in out["defects"]] == ["missing_buffer"]
    asset = client.get(f"/api/v1/assets/{asset_id}", headers=bearer(token)).json()
    assert asset["status"] == "flagged"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.obj", b"# exported\no Empty\ng default\n"),
        ("empty.ply", b"ply\nformat ascii 1.0\nelement vertex 0\nend_header\n"),
    ],
)
def test_empty_models_are_flagged_alike(
    client: TestClient, platform: Platform, token: str, name: str, data: bytes
) -> None:
    asset_id = _upload(client, token, {name: data})
    results = _result(client, platform, token, asset_id)
    assert results["models3d"]["output"]["verdict"] == "fail"
    asset = client.get(f"/api/v1/assets/{asset_id}", headers=bearer(token)).json()
    assert asset["status"] == "flagged"
