"""POST /api/v1/events: per-event acceptance, user auto-creation, idempotent ids."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from agora.runtime import Platform
from agora.testing.api import bearer


def _asset(client: TestClient, token: str) -> str:
    client.put("/api/v1/sellers/s1", headers=bearer(token), json={"name": "S"})
    r = client.post(
        "/api/v1/assets",
        headers=bearer(token),
        files=[("metadata", (None, json.dumps({"title": "Coin", "seller_id": "s1"})))],
    )
    return str(r.json()["id"])


def test_events_accepted_per_event(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    asset_id = _asset(client, tokens["write"])
    events = [
        {"user_id": "new-user", "asset_id": asset_id, "type": "click", "event_id": "e1"},
        {"user_id": "new-user", "asset_id": "missing", "type": "view"},
        {
            "user_id": "u2",
            "asset_id": asset_id,
            "type": "purchase",
            "ts": "2026-01-02T03:04:05Z",
            "value": 4.99,
        },
        {"user_id": "u2", "asset_id": asset_id, "type": "view", "ts": "2999-01-01T00:00:00Z"},
    ]
    r = client.post("/api/v1/events", headers=bearer(tokens["write"]), json={"events": events})
    assert r.status_code == 200, r.text
    out = r.json()
    assert [x["accepted"] for x in out["results"]] == [True, False, True, False]
    assert "unknown asset" in out["results"][1]["error"]
    assert "future" in out["results"][3]["error"]
    # the unknown user was created
    assert client.get("/api/v1/users/new-user", headers=bearer(tokens["read"])).status_code == 200
    assert platform.bus.depth("interaction.recorded", "probe") == 2
    # a retried event id is accepted but stored once
    again = client.post(
        "/api/v1/events",
        headers=bearer(tokens["write"]),
        json={
            "events": [
                {"user_id": "new-user", "asset_id": asset_id, "type": "click", "event_id": "e1"}
            ]
        },
    ).json()
    assert again["accepted"] == 1
    from sqlalchemy import func, select

    from agora.storage.tables import InteractionRow

    with platform.db.session() as s:
        assert s.scalar(select(func.count()).select_from(InteractionRow)) == 2


def test_every_interaction_type_is_accepted(client: TestClient, tokens: dict[str, str]) -> None:
    asset_id = _asset(client, tokens["write"])
    types = ["impression", "view", "click", "favorite", "add_to_cart", "purchase", "skip"]
    r = client.post(
        "/api/v1/events",
        headers=bearer(tokens["write"]),
        json={"events": [{"user_id": "u", "asset_id": asset_id, "type": t} for t in types]},
    )
    assert r.json()["accepted"] == len(types)


def test_malformed_events_are_a_422_naming_each(client: TestClient, tokens: dict[str, str]) -> None:
    asset_id = _asset(client, tokens["write"])
    events = [
        {"user_id": "u", "asset_id": asset_id, "type": "view"},
        {"user_id": "u", "asset_id": asset_id, "type": "like"},
        "not an object",
    ]
    r = client.post("/api/v1/events", headers=bearer(tokens["write"]), json={"events": events})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    locs = {tuple(e["loc"][:3]) for e in r.json()["errors"]}
    assert locs == {("body", "events", 1), ("body", "events", 2)}
    # nothing of a refused batch is recorded
    assert client.get("/api/v1/users/u", headers=bearer(tokens["read"])).status_code == 404
