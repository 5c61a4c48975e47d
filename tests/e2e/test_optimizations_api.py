"""Media optimisations over the API: request, idempotency, progress, cancel,
versioned derivatives (local blobs and S3 with presigned URLs), bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trimesh
from fastapi.testclient import TestClient

from agora.api.app import create_app
from agora.bus.base import Topics
from agora.bus.consumer import Consumer
from agora.config import Settings
from agora.processing.jobs import OPTIMIZE_GROUP
from agora.processing.worker import OptimizationWorker
from agora.runtime import Platform
from agora.testing.api import bearer
from agora.testing.s3 import MOTO_CREDENTIALS, create_bucket, moto_s3
from agora.testing.samples import tiny_png


def _glb() -> bytes:
    return bytes(trimesh.creation.icosphere(subdivisions=3).export(file_type="glb"))


def _asset(client: TestClient, token: str, category: str | None = None) -> str:
    r = client.put("/api/v1/sellers/s1", headers=bearer(token), json={"name": "Forge"})
    assert r.status_code == 200, r.text
    multipart = [
        ("metadata", (None, json.dumps({"title": "Orb", "seller_id": "s1", "category": category}))),
        ("files", ("orb.glb", _glb(), "model/gltf-binary")),
        ("images", ("orb.png", tiny_png(24, 16, alpha=True), "image/png")),
    ]
    r = client.post("/api/v1/assets", headers=bearer(token), files=multipart)
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def _drain(platform: Platform) -> int:
    """Run every queued optimisation in this thread, as a worker would."""
    worker = OptimizationWorker(
        platform.db, platform.jobs, platform.blobs, platform.settings.processing, name="t"
    )
    consumer = Consumer(
        platform.bus,
        Topics.ASSET_OPTIMIZATION_REQUESTED,
        OPTIMIZE_GROUP,
        worker.handle,
        name="t",
        settings=platform.settings.bus,
    )
    total = 0
    while (n := consumer.run_once(1, block_ms=0)) > 0:
        total += n
    return total


OPERATIONS = [
    {"operation": "lods", "options": {"ratios": [1.0, 0.5, 0.25], "samples": 2000}},
    {"operation": "thumbnails", "options": {"sizes": [64], "turntable": True}},
    {"operation": "convert", "options": {"target": "stl"}},
    {"operation": "upscale", "options": {"model": "lanczos"}},
]


def _request(client: TestClient, token: str, asset_id: str, ops: list[dict]) -> httpx.Response:
    return client.post(
        f"/api/v1/assets/{asset_id}/optimizations",
        headers=bearer(token),
        json={"operations": ops},
    )


def test_optimizations_run_once_and_are_listed_as_versions(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    asset_id = _asset(client, tokens["write"])
    r = _request(client, tokens["write"], asset_id, OPERATIONS)
    assert r.status_code == 202, r.text
    jobs = r.json()["jobs"]
    assert [j["operation"] for j in jobs] == ["lods", "thumbnails", "convert", "upscale"]
    assert not any(j["deduplicated"] for j in jobs)
    # The same request again: the same jobs (idempotent by revision, operation, options).
    again = _request(client, tokens["write"], asset_id, OPERATIONS).json()["jobs"]
    assert [j["job_id"] for j in again] == [j["job_id"] for j in jobs]
    assert all(j["deduplicated"] for j in again)

    assert _drain(platform) >= 4
    for job in jobs:
        view = client.get(f"/api/v1/jobs/{job['job_id']}", headers=bearer(tokens["read"])).json()
        assert view["status"] == "succeeded", view
        assert view["percent"] == 100.0 and view["result"]["derivative_created"] is True

    listed = client.get(
        f"/api/v1/assets/{asset_id}/derivatives", headers=bearer(tokens["read"])
    ).json()["items"]
    by_op = {d["operation"]: d for d in listed}
    assert set(by_op) == {"lods", "thumbnails", "convert", "upscale"}
    lods = by_op["lods"]
    assert [f["name"] for f in lods["files"]] == ["lod0.glb", "lod1.glb", "lod2.glb"]
    errors = [level["hausdorff_rel"] for level in lods["meta"]["lods"]]
    assert errors[0] == 0.0 and 0 < errors[1] <= errors[2] < 0.2
    assert lods["model"].startswith("fast-simplification@")
    assert by_op["convert"]["meta"]["report"]["faces_in"] == 1280
    assert {f["name"] for f in by_op["thumbnails"]["files"]} == {
        "turntable.webp",
        "thumb-64.webp",
        "preview.png",
    }
    assert by_op["upscale"]["meta"]["size_out"] == [96, 64]
    # Every file is stored, derived from the source, and downloadable (locally: no URL).
    source = by_op["lods"]["source_sha256"]
    derived = {ref.sha256 for _k, v, ref in platform.blobs.list_derived(source)}
    assert {f["sha256"] for f in lods["files"]} <= derived
    assert all(f["download_url"] is None for d in listed for f in d["files"])

    # Done jobs are not redone: a new request is deduplicated, nothing is queued.
    assert _request(client, tokens["write"], asset_id, OPERATIONS[:1]).json()["jobs"][0][
        "deduplicated"
    ]
    assert _drain(platform) == 0


def test_cancel_and_bad_input(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    asset_id = _asset(client, tokens["write"])
    job = _request(client, tokens["write"], asset_id, [{"operation": "upscale"}]).json()["jobs"][0]
    url = f"/api/v1/assets/{asset_id}/optimizations/{job['job_id']}/cancel"
    r = client.post(url, headers=bearer(tokens["write"]))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert client.post(url, headers=bearer(tokens["write"])).status_code == 409
    _drain(platform)
    listed = client.get(f"/api/v1/assets/{asset_id}/derivatives", headers=bearer(tokens["read"]))
    assert listed.json()["items"] == []  # a cancelled job stores nothing
    # A cancelled job may be asked for again: a new job.
    fresh = _request(client, tokens["write"], asset_id, [{"operation": "upscale"}]).json()
    assert fresh["jobs"][0]["job_id"] != job["job_id"]

    bad = [
        [{"operation": "explode"}],
        [{"operation": "lods", "options": {"ratios": [0]}}],
        [{"operation": "lods", "options": {"ratios": [0.5], "face_budgets": [10]}}],
        [{"operation": "convert", "options": {"target": "usdz"}}],
        [{"operation": "upscale", "options": {"file": "missing.png"}}],
        [],
    ]
    for ops in bad:
        r = _request(client, tokens["write"], asset_id, ops)
        assert r.status_code == 422, (ops, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert _request(client, tokens["read"], asset_id, OPERATIONS).status_code == 403
    assert _request(client, tokens["write"], "no-such-asset", OPERATIONS).status_code == 404
    # An image to a 3D format is a job that fails with the reason, not a dead worker.
    failing = _request(
        client,
        tokens["write"],
        asset_id,
        [{"operation": "convert", "options": {"target": "glb", "file": "orb.png"}}],
    ).json()["jobs"][0]
    _drain(platform)
    view = platform.jobs.get(failing["job_id"])
    assert view["status"] == "failed" and "converts to" in (view["error"] or "")


def test_default_optimizations_are_requested_by_category(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    from agora.bus.base import Event
    from agora.processing.defaults import default_optimizations_handler

    asset_id = _asset(client, tokens["write"], category="orbs")
    settings = platform.settings.processing.model_copy(
        update={"default_optimizations": {"orbs": [{"operation": "thumbnails"}]}}
    )
    handle = default_optimizations_handler(platform.optimizations, settings)
    event = Event(Topics.ASSET_PROCESSED, {"asset_id": asset_id, "status": "active"})
    handle(event)
    handle(event)  # a redelivery requests nothing new
    jobs = platform.jobs.list(kind="optimize")
    assert [j["params"]["operation"] for j in jobs] == ["thumbnails"]
    handle(Event(Topics.ASSET_PROCESSED, {"asset_id": asset_id, "status": "flagged"}))
    assert len(platform.jobs.list(kind="optimize")) == 1


@pytest.fixture
def s3_platform(tmp_path: Path) -> Iterator[Platform]:
    with moto_s3(tmp_path) as endpoint:
        create_bucket(endpoint, "agora-e2e")
        settings = Settings.load(
            data_dir=tmp_path / "agora",
            blobs={
                "url": "s3://agora-e2e/blobs",
                "s3_endpoint_url": endpoint,
                "s3_access_key_id": MOTO_CREDENTIALS["access_key_id"],
                "s3_secret_access_key": MOTO_CREDENTIALS["secret_access_key"],
            },
        )
        platform = Platform.build(settings)
        yield platform
        platform.close()


def test_derivatives_on_s3_download_with_presigned_urls(s3_platform: Platform) -> None:
    tokens = {s: s3_platform.keys.create([s]).token for s in ("read", "write")}
    with TestClient(create_app(s3_platform, start_background=False)) as client:
        asset_id = _asset(client, tokens["write"])
        r = _request(client, tokens["write"], asset_id, [OPERATIONS[2]])
        assert r.status_code == 202, r.text
        _drain(s3_platform)
        (derivative,) = client.get(
            f"/api/v1/assets/{asset_id}/derivatives", headers=bearer(tokens["read"])
        ).json()["items"]
    (file,) = derivative["files"]
    assert file["download_url"] and "X-Amz-Signature=" in file["download_url"]
    got = httpx.get(file["download_url"], timeout=30)  # no Agora key, no AWS credentials
    assert got.status_code == 200 and len(got.content) == file["size"]
    mesh = trimesh.load(trimesh.util.wrap_as_stream(got.content), file_type="stl")
    assert len(mesh.faces) == 1280
