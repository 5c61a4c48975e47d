"""Recommendation endpoints over HTTP: provenance in every response, bad input as problem+json."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from agora.recommend.jobs import refresh_trending, train
from agora.recommend.testing import seed_catalog
from agora.runtime import Platform
from agora.testing.api import bearer

NOW = datetime.now(UTC)


def _catalog(platform: Platform) -> None:
    seed_catalog(platform, NOW)


def test_recommendation_endpoints(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    _catalog(platform)
    train(platform, tune=False)
    refresh_trending(platform)
    h = bearer(tokens["read"])
    r = client.get("/api/v1/recommendations/u1?n=5&algorithm=ease", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["algorithm"] == "ease" and body["model"].startswith("reco-ease@")
    assert len(body["items"]) == 5 and body["fallback"] is False
    again = client.get("/api/v1/recommendations/u1?n=5&algorithm=ease", headers=h).json()
    assert again["cached"] is True and again["items"] == body["items"]
    r = client.get("/api/v1/recommendations/u1?n=5&category=audio&algorithm=smart", headers=h)
    assert r.status_code == 200 and r.json()["model"]
    r = client.get("/api/v1/assets/a0/similar-by-behaviour?n=3", headers=h)
    assert r.status_code == 200 and len(r.json()["items"]) == 3
    r = client.post(
        "/api/v1/recommendations:batch",
        headers=h,
        json={
            "requests": [
                {"user_id": "u2", "n": 3},
                {"user_id": "u3", "algorithm": "nope"},
                {"n": 2},
            ]
        },
    )
    results = r.json()["results"]
    assert results[0]["ok"] and len(results[0]["items"]) == 3
    assert results[1]["status"] == 422 and results[2]["status"] == 422
    # Bad input: problem+json 4xx.
    for url in (
        "/api/v1/recommendations/u1?algorithm=magic",
        "/api/v1/recommendations/u1?n=0",
        "/api/v1/recommendations/u1?n=abc",
    ):
        bad = client.get(url, headers=h)
        assert bad.status_code == 422, url
        assert bad.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/assets/nope/similar-by-behaviour", headers=h).status_code == 404
    bad = client.post("/api/v1/recommendations:batch", headers=h, content=b"{not json")
    assert bad.status_code == 400
    assert (
        client.post("/api/v1/recommendations:batch", headers=h, json={"requests": []}).status_code
        == 422
    )
    assert client.get("/api/v1/recommendations/u1").status_code == 401


def test_lists_returned_to_a_canarys_groups_are_logged_once(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    """The routes log what they return (the fast cached path, the computed path, the batch);
    the cached repeat of a list is logged once."""
    import copy

    from sqlalchemy import select

    from agora.recommend.tables import CanaryServingRow

    _catalog(platform)
    train(platform, tune=False)
    refresh_trending(platform)
    service, registry = platform.recommendations, platform.serving.registry
    first = service.model("ease")
    assert first.model_ref is not None
    registry.promote("reco-ease", first.model_ref.version, actor="t", reason="t")
    challenger = copy.deepcopy(first).save(platform.models)
    registry.challenge("reco-ease", challenger.version, actor="t", reason="t", canary_share=0.5)
    service.reload()
    h = bearer(tokens["read"])
    for _ in range(2):  # computed, then from the cache
        for user in ("u1", "u2"):
            r = client.get(f"/api/v1/recommendations/{user}?n=5&algorithm=ease", headers=h)
            assert r.status_code == 200
    batch = {"requests": [{"user_id": "u3", "n": 4, "algorithm": "ease"}]}
    assert client.post("/api/v1/recommendations:batch", headers=h, json=batch).status_code == 200
    service.canary_log.flush()
    with platform.db.session() as s:
        logged = sorted((r.user_id, len(r.items)) for r in s.scalars(select(CanaryServingRow)))
    assert logged == [("u1", 5), ("u2", 5), ("u3", 4)]  # share 0.5: everyone is compared
