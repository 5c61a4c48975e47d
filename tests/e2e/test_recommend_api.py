"""Recommendation endpoints over HTTP: provenance in every response, bad input as problem+json."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from agora.recommend.base import ALGORITHMS
from agora.recommend.jobs import refresh_trending, train
from agora.recommend.tasks import job_services
from agora.recommend.testing import seed_catalog
from agora.runtime import Platform
from agora.storage.tables import AssetRow
from agora.testing.api import bearer

NOW = datetime.now(UTC)


def _catalog(platform: Platform) -> None:
    seed_catalog(platform.db, NOW)


def test_recommendation_endpoints(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    _catalog(platform)
    services = job_services(platform)
    train(services, tune=False)
    refresh_trending(services)
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
        json={"requests": [{"user_id": "u2", "n": 3}, {"user_id": "u3", "algorithm": "ease"}]},
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["index"] for x in results] == [0, 1] and all(x["ok"] for x in results)
    assert len(results[0]["items"]) == 3 and results[1]["algorithm"] == "ease"
    assert results[0]["status"] is None and results[0]["error"] is None
    # A malformed request fails the batch, naming its index; nothing is served.
    bad_batch = {"requests": [{"user_id": "u2"}, {"user_id": "u3", "algorithm": "nope"}, {"n": 2}]}
    r = client.post("/api/v1/recommendations:batch", headers=h, json=bad_batch)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    locs = [e["loc"] for e in r.json()["errors"]]
    assert ["body", "requests", 1, "algorithm"] in locs
    assert ["body", "requests", 2, "user_id"] in locs
    too_many = {"requests": [{"user_id": "u1"}] * 101}
    assert client.post("/api/v1/recommendations:batch", headers=h, json=too_many).status_code == 422
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
    as_json = h | {"content-type": "application/json"}
    bad = client.post("/api/v1/recommendations:batch", headers=as_json, content=b"{not json")
    assert bad.status_code == 400
    assert (
        client.post("/api/v1/recommendations:batch", headers=h, json={"requests": []}).status_code
        == 422
    )
    assert client.get("/api/v1/recommendations/u1").status_code == 401
    # Session views: repeated query parameters; such lists are never cached.
    views = "&".join(f"session_views=a{i}" for i in range(2))
    for _ in range(2):
        r = client.get(f"/api/v1/recommendations/newcomer?n=4&{views}", headers=h)
        assert r.status_code == 200 and r.json()["cached"] is False, r.text
    assert r.json()["algorithm"] == "cold_start" and len(r.json()["items"]) == 4
    too_many = "&".join(f"session_views=a{i}" for i in range(51))
    assert client.get(f"/api/v1/recommendations/u1?{too_many}", headers=h).status_code == 422
    assert client.get(f"/api/v1/recommendations/{'u' * 129}", headers=h).status_code == 422


def test_an_unknown_algorithm_is_a_422_listing_the_valid_ones(
    client: TestClient, tokens: dict[str, str]
) -> None:
    r = client.get("/api/v1/recommendations/u1?algorithm=magic", headers=bearer(tokens["read"]))
    assert r.status_code == 422
    (error,) = r.json()["errors"]
    assert error["loc"] == ["query", "algorithm"]
    for name in ALGORITHMS:
        assert f"'{name}'" in error["msg"], error["msg"]


def test_the_readme_url_with_an_empty_category_is_not_a_filter(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    """``category=`` (a blank form field) means no category: the README's URL
    answers the same full list as the URL without it, never ``items: []``."""
    _catalog(platform)
    services = job_services(platform)
    train(services, tune=False)
    refresh_trending(services)
    h = bearer(tokens["read"])
    readme = client.get("/api/v1/recommendations/u1?n=10&algorithm=smart&category=", headers=h)
    assert readme.status_code == 200, readme.text
    body = readme.json()
    assert len(body["items"]) == 10
    plain = client.get("/api/v1/recommendations/u1?n=10&algorithm=smart", headers=h).json()
    assert plain["cached"] is True  # the same list: the same cache key
    assert plain["items"] == body["items"]
    # A real category still filters.
    audio = client.get("/api/v1/recommendations/u1?n=10&category=audio", headers=h).json()
    categories = asset_categories(platform, [i["asset_id"] for i in audio["items"]])
    assert categories and set(categories) == {"audio"}


def asset_categories(platform: Platform, ids: list[str]) -> list[str | None]:
    with platform.db.session() as s:
        return [row.category for row in s.scalars(select(AssetRow).where(AssetRow.id.in_(ids)))]


def test_lists_returned_to_a_canarys_groups_are_logged_once(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    """The routes log what they return (the fast cached path, the computed path, the batch);
    the cached repeat of a list is logged once."""
    import copy

    from agora.recommend.tables import CanaryServingRow

    _catalog(platform)
    services = job_services(platform)
    train(services, tune=False)
    refresh_trending(services)
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


def test_a_category_ban_applies_to_recommendations_similar_items_and_the_feed(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    """An admin's category ban (it was honoured by the ranking pre-filter only)
    now empties the category from every list: computed, cached, padded with
    trending, similar items and the ranked feed; lifting it brings it back."""
    _catalog(platform)
    services = job_services(platform)
    train(services, tune=False)
    refresh_trending(services)
    platform.overrides.cache_s = 0.0  # every read sees the latest override
    h, admin = bearer(tokens["read"]), bearer(tokens["admin"])

    def lists() -> dict[str, list[str]]:
        reco = client.get("/api/v1/recommendations/u2?n=10&algorithm=ease", headers=h)
        smart = client.get("/api/v1/recommendations/u5?n=10", headers=h)
        similar = client.get("/api/v1/assets/a2/similar-by-behaviour?n=10", headers=h)
        feed = client.get("/api/v1/feed/u2?n=10", headers=h)
        got = {"reco": reco, "smart": smart, "similar": similar, "feed": feed}
        for name, r in got.items():
            assert r.status_code == 200, (name, r.text)
        return {
            "reco": [i["asset_id"] for i in reco.json()["items"]],
            "smart": [i["asset_id"] for i in smart.json()["items"]],
            "similar": [i["asset_id"] for i in similar.json()["items"]],
            "feed": [i["asset_id"] for i in feed.json()["items"]],
        }

    before = lists()  # u2 likes a2, a5, ...: category CATEGORIES[2] = "audio"
    for name, ids in before.items():
        assert "audio" in asset_categories(platform, ids), name
    ban = {"action": "ban", "target": "category", "value": "audio", "reason": "test"}
    r = client.post("/api/v1/overrides", json=ban, headers=admin)
    assert r.status_code == 201, r.text
    try:
        after = lists()  # the recommendation lists above were cached: hits are re-checked
        for name, ids in after.items():
            assert ids, name
            assert "audio" not in asset_categories(platform, ids), name
        cached = client.get("/api/v1/recommendations/u2?n=10&algorithm=ease", headers=h).json()
        assert cached["cached"] is True
        assert "audio" not in asset_categories(platform, [i["asset_id"] for i in cached["items"]])
    finally:
        assert client.delete(f"/api/v1/overrides/{r.json()['id']}", headers=admin).is_success
    platform.recommendations.cache.clear()
    lifted = lists()
    assert "audio" in asset_categories(platform, lifted["reco"])
