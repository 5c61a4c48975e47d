"""Asset lifecycle over the API: upload, pipeline, status, list, patch, delete."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

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
    assert steps["integrity"]["model"] == "integrity@1.0"
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


def test_patch_delete_and_status_needs_moderator(
    client: TestClient, tokens: dict[str, str]
) -> None:
    _seller(client, tokens["write"])
    asset_id = _create(client, tokens["write"], {"title": "Card", "seller_id": "s1"})["id"]
    r = client.patch(
        f"/api/v1/assets/{asset_id}",
        headers=bearer(tokens["write"]),
        json={"title": "Playing card", "stock": 3},
    )
    assert r.status_code == 200 and r.json()["title"] == "Playing card"
    r = client.patch(
        f"/api/v1/assets/{asset_id}", headers=bearer(tokens["write"]), json={"status": "banned"}
    )
    assert r.status_code == 403
    r = client.patch(
        f"/api/v1/assets/{asset_id}", headers=bearer(tokens["moderator"]), json={"status": "banned"}
    )
    assert r.status_code == 200 and r.json()["status"] == "banned"
    assert (
        client.delete(f"/api/v1/assets/{asset_id}", headers=bearer(tokens["write"])).status_code
        == 204
    )
    assert (
        client.get(f"/api/v1/assets/{asset_id}", headers=bearer(tokens["read"])).json()["status"]
        == "removed"
    )


def test_batch_import_reports_each_line(client: TestClient, tokens: dict[str, str]) -> None:
    _seller(client, tokens["write"])
    body = "\n".join(
        [
            json.dumps({"title": "Alien", "seller_id": "s1"}),
            "{not json",
            json.dumps({"title": "Ghost", "seller_id": "nobody"}),
            json.dumps({"title": "Coin", "seller_id": "s1", "price": 1}),
        ]
    )
    r = client.post(
        "/api/v1/assets:batch",
        headers=bearer(tokens["write"]) | {"Content-Type": "application/jsonl"},
        content=body,
    )
    assert r.status_code == 200
    out = r.json()
    assert out["imported"] == 2 and out["failed"] == 2
    assert [x["ok"] for x in out["results"]] == [True, False, False, True]
    assert out["results"][1]["status"] == 400 and out["results"][2]["status"] == 422


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
