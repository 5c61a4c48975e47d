"""Asset lifecycle over the API: upload, pipeline, status, list, patch, delete."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from agora.api.schemas.jobs import ImportProgress
from agora.runtime import Platform
from agora.testing.api import bearer, drain_pipeline
from agora.testing.samples import tiny_glb, tiny_png


def _seller(client: TestClient, token: str, seller_id: str = "s1") -> None:
    r = client.put(
        f"/api/v1/sellers/{seller_id}", headers=bearer(token), json={"name": "Pixel Forge"}
    )
    assert r.status_code == 200, r.text


def _create(client: TestClient, token: str, meta: dict, files=(), images=()) -> dict:
    multipart = [("metadata", (None, json.dumps(meta)))]
    multipart += [("files", f) for f in files] + [("images", f) for f in images]
    r = client.post("/api/v1/assets", headers=bearer(token), files=multipart)
    assert r.status_code == 202, r.text
    return r.json()


def test_upload_runs_pipeline_and_activates(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    _seller(client, tokens["write"])
    meta = {
        "title": "Low-poly tank",
        "description": "A small tank for arcade games, ready for Godot and Unity.",
        "seller_id": "s1",
        "price": 4.99,
        "currency": "usd",
        "tags": ["tank", "vehicle"],
        "category": "vehicles",
    }
    created = _create(
        client,
        tokens["write"],
        meta,
        files=[("tank.glb", tiny_glb(), "model/gltf-binary")],
        images=[("tank.png", tiny_png(), "image/png")],
    )
    assert created["status"] == "pending"
    assert created["links"] == {
        "self": f"/api/v1/assets/{created['id']}",
        "job": f"/api/v1/jobs/{created['job_id']}",
    }
    asset = client.get(f"/api/v1/assets/{created['id']}", headers=bearer(tokens["read"])).json()
    assert asset["status"] == "pending"
    assert asset["currency"] == "USD"
    assert asset["images"][0]["media_type"] == "image/png"

    assert drain_pipeline(platform) == 1
    asset = client.get(f"/api/v1/assets/{created['id']}", headers=bearer(tokens["read"])).json()
    assert asset["status"] == "active"
    job = client.get(f"/api/v1/jobs/{created['job_id']}", headers=bearer(tokens["read"])).json()
    assert job["status"] == "succeeded" and job["percent"] == 100.0
    results = client.get(
        f"/api/v1/assets/{created['id']}/results", headers=bearer(tokens["read"])
    ).json()["results"]
    steps = {r["step"]: r for r in results}
    assert steps["integrity"]["model"] == "integrity@1.1"
    assert 0.0 < steps["completeness"]["output"]["score"] <= 1.0
    # asset.processed was published for downstream consumers
    assert platform.bus.depth("asset.processed", "probe") >= 1


def test_corrupt_image_flags_asset_and_keeps_record(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    """A file that passes the upload sniff but fails to load is held for review."""
    _seller(client, tokens["write"])
    glb = tiny_glb()
    # Keep the GLB header (the sniff passes) but cut the chunks: trimesh cannot load it.
    broken = glb[:12] + glb[12:40] + bytes(16)
    created = _create(
        client,
        tokens["write"],
        {"title": "Broken", "seller_id": "s1"},
        files=[("broken.glb", broken, "model/gltf-binary")],
    )
    drain_pipeline(platform)
    asset = client.get(f"/api/v1/assets/{created['id']}", headers=bearer(tokens["read"])).json()
    assert asset["status"] == "flagged"
    results = client.get(
        f"/api/v1/assets/{created['id']}/results", headers=bearer(tokens["read"])
    ).json()["results"]
    integrity = next(r for r in results if r["step"] == "integrity")
    assert integrity["hold"] and not integrity["output"]["ok"]


def test_list_filter_and_cursor_pagination(client: TestClient, tokens: dict[str, str]) -> None:
    _seller(client, tokens["write"])
    _seller(client, tokens["write"], "s2")
    ids = [
        _create(
            client,
            tokens["write"],
            {
                "title": f"Coin {i}",
                "seller_id": "s1" if i % 2 else "s2",
                "price": i,
                "category": "items",
            },
        )["id"]
        for i in range(7)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, "category": "items"} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/assets", params=params, headers=bearer(tokens["read"])).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    only_s1 = client.get(
        "/api/v1/assets", params={"seller_id": "s1", "min_price": 3}, headers=bearer(tokens["read"])
    ).json()["items"]
    assert {a["seller_id"] for a in only_s1} == {"s1"}
    assert all(a["price"] >= 3 for a in only_s1)


def test_patch_scopes_write_for_fields_moderator_for_status(
    client: TestClient, tokens: dict[str, str]
) -> None:
    _seller(client, tokens["write"])
    asset_id = _create(client, tokens["write"], {"title": "Card", "seller_id": "s1"})["id"]
    url = f"/api/v1/assets/{asset_id}"
    r = client.patch(
        url, headers=bearer(tokens["write"]), json={"title": "Playing card", "stock": 3}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["title"], r.json()["stock"], r.json()["revision"]) == ("Playing card", 3, 2)
    r = client.patch(url, headers=bearer(tokens["read"]), json={"stock": 4})
    assert r.status_code == 403 and "write" in r.json()["detail"]
    r = client.patch(url, headers=bearer(tokens["write"]), json={"status": "banned"})
    assert r.status_code == 403 and "moderator" in r.json()["detail"]
    # moderator > write: a moderator key changes status and other fields alike.
    r = client.patch(
        url, headers=bearer(tokens["moderator"]), json={"status": "banned", "stock": 0}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["stock"]) == ("banned", 0)
    assert client.delete(url, headers=bearer(tokens["read"])).status_code == 403
    r = client.delete(url, headers=bearer(tokens["write"]))
    assert r.status_code == 204 and r.content == b""
    assert client.get(url, headers=bearer(tokens["read"])).json()["status"] == "removed"
    assert client.delete(url, headers=bearer(tokens["write"])).status_code == 404


def test_results_route_lists_each_step(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    _seller(client, tokens["write"])
    created = _create(client, tokens["write"], {"title": "Gem", "seller_id": "s1"})
    url = f"/api/v1/assets/{created['id']}/results"
    assert client.get(url, headers=bearer(tokens["read"])).json() == {
        "asset_id": created["id"],
        "results": [],
    }
    drain_pipeline(platform)
    body = client.get(url, headers=bearer(tokens["read"])).json()
    assert body["asset_id"] == created["id"] and body["results"]
    for result in body["results"]:
        assert result["job_id"] == created["job_id"]
        assert "@" in result["model"] and result["duration_ms"] >= 0
        assert isinstance(result["hold"], bool) and isinstance(result["output"], dict)
    r = client.get("/api/v1/assets/nope/results", headers=bearer(tokens["read"]))
    assert r.status_code == 404


def test_image_route_serves_the_sniffed_bytes(client: TestClient, tokens: dict[str, str]) -> None:
    _seller(client, tokens["write"])
    png = tiny_png()
    created = _create(
        client,
        tokens["write"],
        {"title": "Gem", "seller_id": "s1"},
        images=[("gem.bin", png, "application/octet-stream")],
    )
    r = client.get(f"/api/v1/assets/{created['id']}/images/0", headers=bearer(tokens["read"]))
    assert r.status_code == 200 and r.content == png
    assert r.headers["content-type"] == "image/png"
    for index in ("1", "-1"):
        r = client.get(
            f"/api/v1/assets/{created['id']}/images/{index}", headers=bearer(tokens["read"])
        )
        assert r.status_code in {404, 422}
        assert r.headers["content-type"].startswith("application/problem+json")


def _import(client: TestClient, token: str, lines: list[str], media: str) -> dict:
    r = client.post(
        "/api/v1/assets:batch",
        headers=bearer(token) | {"Content-Type": media},
        content="\n".join(lines),
    )
    assert r.status_code == 202, r.text
    return r.json()


@pytest.mark.parametrize("media", ["application/x-ndjson", "application/jsonl", "text/plain"])
def test_batch_import_reports_each_line(
    client: TestClient, tokens: dict[str, str], media: str
) -> None:
    _seller(client, tokens["write"])
    lines = [
        json.dumps({"title": "Alien", "seller_id": "s1"}),
        "{not json",
        "",
        json.dumps({"title": "Ghost", "seller_id": "nobody"}),
        json.dumps({"title": "", "seller_id": "s1", "bogus": 1}),
        json.dumps({"title": "Coin", "seller_id": "s1", "price": 1}),
    ]
    out = _import(client, tokens["write"], lines, media)
    assert (out["total"], out["accepted"], out["rejected"]) == (5, 2, 3)
    assert out["links"]["job"] == f"/api/v1/jobs/{out['job_id']}"
    results = out["results"]
    # Lines are numbered as in the file: the blank third line is skipped.
    assert [(x["line"], x["accepted"]) for x in results] == [
        (1, True),
        (2, False),
        (4, False),
        (5, False),
        (6, True),
    ]
    assert [x.get("status") for x in results] == [None, 400, 422, 422, None]
    assert "unknown seller" in results[2]["error"]
    assert {tuple(e["loc"]) for e in results[3]["errors"]} == {("title",), ("bogus",)}
    asset = client.get(f"/api/v1/assets/{results[0]['id']}", headers=bearer(tokens["read"]))
    assert asset.json()["title"] == "Alien"


def test_batch_import_progress_is_one_job(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    _seller(client, tokens["write"])
    lines = [json.dumps({"title": f"Coin {i}", "seller_id": "s1"}) for i in range(3)]
    out = _import(client, tokens["write"], [*lines, "[1, 2]"], "application/x-ndjson")
    job_url = out["links"]["job"]
    job = client.get(job_url, headers=bearer(tokens["read"])).json()
    assert (job["kind"], job["status"]) == ("import", "running")
    assert ImportProgress.model_validate(job["result"]).accepted == 3
    assert job["result"] == {
        "total": 4,
        "accepted": 3,
        "rejected": 1,
        "processed": 0,
        "failed": 0,
    }
    assert job["percent"] == 25.0  # the rejected line is done; three pipelines to go
    # One asset's pipeline finishes: the import moves by one item.
    platform.jobs.finish(out["results"][0]["job_id"], result={"status": "active"})
    job = client.get(job_url, headers=bearer(tokens["read"])).json()
    assert (job["result"]["processed"], job["percent"]) == (1, 50.0)
    # A repeated finish of the same child (a redelivered job) counts once.
    platform.jobs.finish(out["results"][0]["job_id"], result={"status": "active"})
    assert client.get(job_url, headers=bearer(tokens["read"])).json()["percent"] == 50.0
    assert drain_pipeline(platform) == 3
    job = client.get(job_url, headers=bearer(tokens["read"])).json()
    assert (job["status"], job["percent"]) == ("succeeded", 100.0)
    assert job["result"] == {
        "total": 4,
        "accepted": 3,
        "rejected": 1,
        "processed": 3,
        "failed": 0,
    }
    listed = client.get(
        "/api/v1/jobs", params={"kind": "import"}, headers=bearer(tokens["read"])
    ).json()["items"]
    assert [j["id"] for j in listed] == [out["job_id"]]


def test_batch_import_where_every_line_is_rejected_is_done_at_once(
    client: TestClient, tokens: dict[str, str]
) -> None:
    out = _import(client, tokens["write"], ["{", "[]"], "application/x-ndjson")
    assert (out["accepted"], out["rejected"]) == (0, 2)
    job = client.get(out["links"]["job"], headers=bearer(tokens["read"])).json()
    assert (job["status"], job["percent"], job["result"]["processed"]) == ("succeeded", 100.0, 0)


def test_users_and_sellers_upsert(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.put(
        "/api/v1/users/u1",
        headers=bearer(tokens["write"]),
        json={"region": "EU", "lat": 52.5, "lon": 13.4, "attributes": {"age": 30}},
    )
    assert r.status_code == 200 and r.json()["region"] == "EU"
    r = client.put("/api/v1/users/u1", headers=bearer(tokens["write"]), json={"lat": 91})
    assert r.status_code == 422
    assert client.get("/api/v1/users/u1", headers=bearer(tokens["read"])).json()["lat"] == 52.5
    assert client.get("/api/v1/sellers/none", headers=bearer(tokens["read"])).status_code == 404


@pytest.mark.parametrize("path", ["/docs", "/openapi.json", "/healthz"])
def test_public_endpoints(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 200


def test_metrics_label_routes_with_their_prefix(client: TestClient, tokens: dict[str, str]) -> None:
    client.get("/api/v1/assets/some-id", headers=bearer(tokens["read"]))
    metrics = client.get("/metrics").text
    assert 'route="/api/v1/assets/{asset_id}"' in metrics
    assert 'route="/api/v1/assets/some-id"' not in metrics


def test_trust_fields_of_a_seller_need_the_moderator_scope(
    client: TestClient, tokens: dict[str, str]
) -> None:
    _seller(client, tokens["write"])
    for body in ({"banned": True}, {"verified": True}, {"trust_score": 0.9}):
        r = client.put("/api/v1/sellers/s1", headers=bearer(tokens["write"]), json=body)
        assert r.status_code == 403, body
    r = client.put(
        "/api/v1/sellers/s1",
        headers=bearer(tokens["moderator"]),
        json={"banned": True, "trust_score": 0.1},
    )
    assert r.status_code == 200 and r.json()["banned"] is True


def test_job_wait_holds_the_answer_until_the_job_ends(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    _seller(client, tokens["write"])
    created = _create(client, tokens["write"], {"title": "Crate", "seller_id": "s1"})
    url = f"/api/v1/jobs/{created['job_id']}"
    # Nothing processes it: a short wait answers with the job still queued.
    held = client.get(url, params={"wait": 0.3}, headers=bearer(tokens["read"])).json()
    assert held["status"] == "queued"
    assert drain_pipeline(platform) == 1
    done = client.get(url, params={"wait": 30}, headers=bearer(tokens["read"])).json()
    assert done["status"] == "succeeded"
    too_long = client.get(url, params={"wait": 61}, headers=bearer(tokens["read"]))
    assert too_long.status_code == 422
