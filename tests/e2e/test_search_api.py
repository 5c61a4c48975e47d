"""Search API end to end on a handful of demo assets (MiniLM profile, embedded indexes).

The assets go through the real upload pipeline (integrity, completeness,
index step), so the indexes hold real MiniLM, EfficientNet-Lite0 and ConSE
vectors and BM25 documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agora.api.app import create_app
from agora.bus.base import Topics
from agora.bus.consumer import Consumer, SqlIdempotencyLedger
from agora.config import Settings
from agora.demo.catalog import SPRITES_DIR, DemoCatalog, build_demo_catalog
from agora.demo.loader import demo_asset_id, load_demo_catalog
from agora.runtime import Platform
from agora.search.consumer import INDEX_GROUP, index_event_handler
from agora.testing.api import bearer, drain_pipeline

JSON = {"content-type": "application/json"}
NAMES = (
    "tankBody_red",
    "tankBody_blue",
    "tankBlue_barrel1",
    "coinGold",
    "coinSilver",
    "alienBlue_front",
    "gemRed",
    "meteorGrey_big1",
    "bee",
    "building-garage",
)


def drain_index_events(platform: Platform) -> None:
    """Run the search-index consumers on queued asset.updated / asset.deleted events."""
    for topic in (Topics.ASSET_UPDATED, Topics.ASSET_DELETED):
        consumer = Consumer(
            platform.bus,
            topic,
            INDEX_GROUP,
            index_event_handler(platform.db, platform.indexer),
            name="test-index",
            settings=platform.settings.bus,
            ledger=SqlIdempotencyLedger(platform.db),
        )
        while consumer.run_once(50, block_ms=0) > 0:
            pass


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    # Search needs only integrity + index; tagging and moderation load models for nothing.
    pipeline = {"disabled_steps": ["tagging", "moderation"]}
    settings = Settings.load(
        data_dir=tmp_path_factory.mktemp("search") / "agora", pipeline=pipeline
    )
    platform = Platform.build(settings)
    demo = build_demo_catalog()
    assets = [a for a in demo.assets if a.key.rsplit("/", 1)[1] in NAMES]
    load_demo_catalog(
        platform.db, platform.assets, platform.people, DemoCatalog(demo.sellers, [], assets)
    )
    drain_pipeline(platform)
    ids = {a.key.rsplit("/", 1)[1]: demo_asset_id(a) for a in assets}
    tokens = {s: platform.keys.create([s]).token for s in ("read", "write", "moderator")}
    with TestClient(create_app(platform, start_background=False)) as client:
        yield {"platform": platform, "client": client, "ids": ids, "tokens": tokens}
    platform.close()


def get(world: dict[str, Any], url: str, **params: Any) -> Any:
    r = world["client"].get(url, params=params, headers=bearer(world["tokens"]["read"]))
    return r


def test_hybrid_search_ranks_matches_with_per_retriever_scores_and_models(world):
    r = get(world, "/api/v1/search", q="red tank", limit=3)
    assert r.status_code == 200, r.text
    body = r.json()
    top = body["hits"][0]
    assert top["id"] == world["ids"]["tankBody_red"]
    assert {"keyword", "text"} <= set(top["scores"])
    assert top["ranks"]["keyword"] == 1
    assert top["models"]["text"].startswith("minilm@")
    assert top["models"]["keyword"].startswith("bm25s@")
    assert "<mark>" in top["highlights"]["title"]
    assert body["models"]["conse"].startswith("conse(")
    assert body["degraded"] is False and body["fallbacks"] == []
    assert top["asset"]["title"] == "Tank Body Red"


def test_explain_returns_fusion_contributions_that_sum_to_the_score(world):
    plain = get(world, "/api/v1/search", q="red tank", limit=3).json()
    assert all("explain" not in h for h in plain["hits"])
    body = get(world, "/api/v1/search", q="red tank", limit=3, explain="true").json()
    method = world["platform"].settings.search.fusion
    for hit in body["hits"]:
        parts = hit["explain"]
        assert set(parts) == set(hit["scores"])
        assert sum(p["value"] for p in parts.values()) == pytest.approx(hit["score"], abs=1e-5)
        for name, part in parts.items():
            assert part["method"] == method and part["rank"] == hit["ranks"][name]
            if method == "convex":
                assert part["low"] <= part["score"] <= part["high"]
    posted = (
        world["client"]
        .post(
            "/api/v1/search",
            json={"q": "red tank", "limit": 3, "explain": True},
            headers=bearer(world["tokens"]["read"]),
        )
        .json()
    )
    assert posted["hits"][0]["explain"] == body["hits"][0]["explain"]
    schemas = world["client"].get("/openapi.json").json()["components"]["schemas"]
    assert schemas["SearchRequest"]["properties"]["explain"]["type"] == "boolean"
    assert "FusionContributionOut" in schemas


def test_post_search_with_filters_and_pagination(world):
    client, hdr, ids = world["client"], bearer(world["tokens"]["read"]), world["ids"]
    body = {"q": "tank", "filters": {"category": "vehicles", "max_price": 3.0}, "limit": 1}
    first = client.post("/api/v1/search", json=body, headers=hdr).json()
    # tankBody_blue 1.49 and tankBody_red 2.99; tankBlue_barrel1 (4.99) is over the price.
    assert first["total"] == 2
    assert first["next_offset"] == 1
    second = client.post("/api/v1/search", json=body | {"offset": 1}, headers=hdr).json()
    assert second["next_offset"] is None
    seen = {first["hits"][0]["id"], second["hits"][0]["id"]}
    assert seen == {ids["tankBody_blue"], ids["tankBody_red"]}


def test_filters_seller_tags_and_stock(world):
    items = get(world, "/api/v1/search", q="coin", seller_id="pixel-forge", tags="gold").json()
    assert [h["id"] for h in items["hits"]] == [world["ids"]["coinGold"]]
    none = get(world, "/api/v1/search", q="coin", in_stock=False).json()
    assert none["total"] == 0  # demo assets are digital: unknown stock counts as in stock


def test_semantic_search_finds_by_meaning(world):
    r = get(world, "/api/v1/search/semantic", q="armoured military vehicle", limit=3).json()
    assert r["mode"] == "semantic"
    assert "keyword" not in r["models"]
    assert r["hits"][0]["id"].startswith("demo-sprites-topdown_tanks")


def test_language_is_detected(world):
    r = get(world, "/api/v1/search", q="ein rotes Auto mit großen Rädern").json()
    assert r["language"] == "de"


def test_visual_search_by_asset_upload_and_text(world):
    client, hdr, ids = world["client"], bearer(world["tokens"]["read"]), world["ids"]
    by_asset = client.post(
        "/api/v1/search/visual", json={"asset_id": ids["tankBody_red"]}, headers=hdr
    ).json()
    assert by_asset["hits"][0]["id"].startswith("demo-sprites-topdown_tanks")
    assert ids["tankBody_red"] not in [h["id"] for h in by_asset["hits"]]
    assert by_asset["models"]["image"].startswith("effnet")

    sprite = next(SPRITES_DIR.glob("*/coinSilver.png"))
    upload = client.post(
        "/api/v1/search/visual",
        files={"image": ("coin.png", sprite.read_bytes(), "image/png")},
        data={"limit": "3"},
        headers=hdr,
    )
    assert upload.status_code == 200, upload.text
    assert upload.json()["hits"][0]["id"] == ids["coinSilver"]

    text = client.get("/api/v1/search/visual", params={"q": "tank"}, headers=hdr).json()
    assert text["hits"] and set(text["hits"][0]["scores"]) == {"conse"}


def test_similar_items(world):
    ids = world["ids"]
    r = get(world, f"/api/v1/assets/{ids['tankBody_red']}/similar", limit=3).json()
    got = [h["id"] for h in r["hits"]]
    assert ids["tankBody_red"] not in got
    assert got[0] == ids["tankBody_blue"]
    assert {"text", "image"} <= set(r["hits"][0]["scores"])


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status"),
    [
        ("get", "/api/v1/search", {"params": {"q": ""}}, 422),
        ("get", "/api/v1/search", {"params": {"q": "x", "limit": 5000}}, 422),
        ("get", "/api/v1/search", {"params": {"q": "x", "min_price": 5, "max_price": 1}}, 422),
        ("get", "/api/v1/search", {"params": {"q": "x", "max_price": "inf"}}, 422),
        ("post", "/api/v1/search", {"content": b"{not json", "headers": JSON}, 400),
        ("post", "/api/v1/search/visual", {"content": b"{not json", "headers": JSON}, 400),
        ("get", "/api/v1/search", {"params": {"q": "x", "ids": ",".join(["a"] * 1001)}}, 422),
        ("get", "/api/v1/search", {"params": {"q": "x", "bogus": 1}}, 422),
        ("post", "/api/v1/search", {"json": {"q": "x", "filters": {"ids": ["a" * 65]}}}, 422),
        ("post", "/api/v1/search/semantic", {"json": {"q": "x", "mode": "keyword"}}, 422),
        ("post", "/api/v1/search/visual", {"json": {"asset_id": "a", "text": "car"}}, 422),
        ("get", "/api/v1/search/visual", {"params": {}}, 422),
        (
            "post",
            "/api/v1/search/visual",
            {"files": {"image": ("x.png", b"\x89PNG")}, "data": {"bogus": "1"}},
            422,
        ),
        ("post", "/api/v1/search", {"json": {"q": "x", "bogus": 1}}, 422),
        ("post", "/api/v1/search", {"json": {"q": "x", "filters": {"min_price": -1}}}, 422),
        ("post", "/api/v1/search/visual", {"json": {}}, 422),
        ("post", "/api/v1/search/visual", {"json": {"asset_id": "nope"}}, 404),
        ("post", "/api/v1/search/visual", {"files": {"image": ("x.png", b"not an image")}}, 415),
        ("get", "/api/v1/assets/nope/similar", {}, 404),
    ],
)
def test_bad_input_is_problem_json(world, method, url, kwargs, status):
    headers = bearer(world["tokens"]["read"]) | kwargs.get("headers", {})
    rest = {k: v for k, v in kwargs.items() if k != "headers"}
    r = getattr(world["client"], method)(url, headers=headers, **rest)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("mode", ["hybrid", "keyword", "semantic"])
def test_gibberish_finds_nothing_in_any_mode(world, mode):
    # Before the relevance floor, the vector lists returned every asset for this.
    r = get(world, "/api/v1/search", q="zzzqqqxx", mode=mode).json()
    assert r["hits"] == [] and r["total"] == 0 and r["next_offset"] is None
    assert r["did_you_mean"] is None  # nothing in the catalog is spelt close to it
    visual = get(world, "/api/v1/search/visual", q="zzzqqqxx qwpoeiruty").json()
    assert visual["hits"] == []


def test_a_misspelt_query_gets_did_you_mean_from_the_catalog(world):
    # With autocorrect off the query is searched as typed and the spelling offered.
    r = get(world, "/api/v1/search", q="red tnak", mode="keyword", autocorrect=False).json()
    assert r["did_you_mean"] == "red tank" and r["corrected_query"] is None
    assert r["total"] > 0  # "red" still matched
    fixed = get(world, "/api/v1/search", q=r["did_you_mean"], limit=1).json()
    assert fixed["hits"][0]["id"] == world["ids"]["tankBody_red"]
    assert fixed["did_you_mean"] is None and fixed["corrected_query"] is None
    r = get(world, "/api/v1/search", q="gold cion", autocorrect=False).json()
    assert r["did_you_mean"] == "gold coin"


@pytest.mark.parametrize("mode", ["hybrid", "keyword"])
def test_a_misspelt_query_finds_the_product_and_says_what_it_searched(world, mode):
    r = get(world, "/api/v1/search", q="gold cion", mode=mode, limit=3).json()
    assert r["corrected_query"] == "gold coin"
    assert r["query"] == "gold cion"  # as typed; the hits are for the corrected text
    assert r["hits"][0]["id"] == world["ids"]["coinGold"]
    assert "<mark>" in r["hits"][0]["highlights"]["title"]
    body = {"q": "tnak", "mode": mode, "limit": 5}
    hdr = bearer(world["tokens"]["read"])
    posted = world["client"].post("/api/v1/search", json=body, headers=hdr).json()
    assert posted["corrected_query"] == "tank"
    assert world["ids"]["tankBody_red"] in {h["id"] for h in posted["hits"]}
    # A correctly spelt query is searched as typed.
    assert get(world, "/api/v1/search", q="gold coin").json()["corrected_query"] is None


def test_corrected_query_and_autocorrect_are_typed_in_the_openapi_schema(world):
    schemas = world["client"].get("/openapi.json").json()["components"]["schemas"]
    corrected = schemas["SearchResponse"]["properties"]["corrected_query"]
    assert {t.get("type") for t in corrected["anyOf"]} == {"string", "null"}
    switch = schemas["SearchRequest"]["properties"]["autocorrect"]
    assert {t.get("type") for t in switch["anyOf"]} == {"boolean", "null"}


def test_the_floor_keeps_meaning_for_queries_with_keyword_evidence(world):
    # "military" occurs in the catalog: dense rows above the lenient floor count,
    # so the tanks come first though no title says "armoured" or "vehicle".
    r = get(world, "/api/v1/search/semantic", q="armoured military vehicle", limit=3).json()
    tanks = {world["ids"][n] for n in ("tankBody_red", "tankBody_blue", "tankBlue_barrel1")}
    assert {h["id"] for h in r["hits"]} == tanks
    # No query word in the catalog: only a confident dense match would count.
    junk = get(world, "/api/v1/search/semantic", q="qwxz vbnmq").json()
    assert junk["total"] == 0


def _ids(world: dict[str, Any], *names: str) -> list[str]:
    return [world["ids"][n] for n in names]


def test_ids_filter_on_every_text_mode_get_and_post(world):
    client, hdr = world["client"], bearer(world["tokens"]["read"])
    wanted = _ids(world, "tankBody_blue", "coinGold", "gemRed")
    for mode in ("hybrid", "keyword", "semantic"):
        # GET: comma-separated and repeated forms are the same filter.
        comma = get(world, "/api/v1/search", q="tank", mode=mode, ids=",".join(wanted)).json()
        repeated = get(world, "/api/v1/search", q="tank", mode=mode, ids=wanted).json()
        got = [h["id"] for h in comma["hits"]]
        assert got == [h["id"] for h in repeated["hits"]]
        assert set(got) <= set(wanted) and world["ids"]["tankBody_blue"] in got, (mode, got)
        body = {"q": "tank", "mode": mode, "filters": {"ids": wanted}}
        posted = client.post("/api/v1/search", json=body, headers=hdr).json()
        assert [h["id"] for h in posted["hits"]] == got
    sem = client.post("/api/v1/search/semantic", json={"q": "tank", "filters": {"ids": wanted}})
    assert sem.status_code == 401  # no key
    sem = client.post(
        "/api/v1/search/semantic", json={"q": "tank", "filters": {"ids": wanted}}, headers=hdr
    ).json()
    assert {h["id"] for h in sem["hits"]} <= set(wanted)
    # Ids that name nothing visible: nothing, not an error.
    none = get(world, "/api/v1/search", q="tank", ids="no-such-asset").json()
    assert none["hits"] == [] and none["total"] == 0


def test_ids_filter_on_visual_and_similar(world):
    client, hdr, ids = world["client"], bearer(world["tokens"]["read"]), world["ids"]
    wanted = _ids(world, "coinGold", "gemRed", "bee")
    red = ids["tankBody_red"]
    similar = get(world, f"/api/v1/assets/{red}/similar", ids=",".join(wanted)).json()
    assert similar["hits"] and {h["id"] for h in similar["hits"]} <= set(wanted)
    by_asset = client.post(
        "/api/v1/search/visual", json={"asset_id": red, "filters": {"ids": wanted}}, headers=hdr
    ).json()
    assert by_asset["hits"] and {h["id"] for h in by_asset["hits"]} <= set(wanted)
    by_text = get(world, "/api/v1/search/visual", q="coin", ids=wanted).json()
    assert {h["id"] for h in by_text["hits"]} <= set(wanted)
    sprite = next(SPRITES_DIR.glob("*/coinSilver.png"))
    upload = client.post(
        "/api/v1/search/visual",
        files={"image": ("coin.png", sprite.read_bytes(), "image/png")},
        data={"ids": ",".join(wanted), "limit": "2"},
        headers=hdr,
    )
    assert upload.status_code == 200, upload.text
    hits = [h["id"] for h in upload.json()["hits"]]
    assert hits and set(hits) <= set(wanted) and ids["coinSilver"] not in hits
    assert hits[0] == ids["coinGold"]


def test_search_needs_a_key(world):
    assert world["client"].get("/api/v1/search", params={"q": "tank"}).status_code == 401


def test_only_active_assets_are_found_and_removal_leaves_the_index(world):
    client, ids, platform = world["client"], world["ids"], world["platform"]
    mod, write = bearer(world["tokens"]["moderator"]), bearer(world["tokens"]["write"])
    gem = ids["gemRed"]
    assert gem in [h["id"] for h in get(world, "/api/v1/search", q="red gem").json()["hits"]]
    # Flagged: still indexed, but search checks the catalog at query time.
    assert client.patch(f"/api/v1/assets/{gem}", json={"status": "flagged"}, headers=mod).is_success
    assert gem not in [h["id"] for h in get(world, "/api/v1/search", q="red gem").json()["hits"]]
    # Deleted: the index consumer drops it from every index.
    assert client.delete(f"/api/v1/assets/{gem}", headers=write).status_code == 204
    drain_index_events(platform)
    backends = platform.search.backends
    assert gem not in backends.vector("asset_text").get([gem])
    assert not backends.vector("asset_image").get([f"{gem}#0"])
    assert gem not in [h.id for h in backends.keyword().search("gem", 10)]


def test_a_category_ban_applies_to_search_and_similar_items(world):
    """An admin's category ban (it was honoured by the ranking pre-filter only)
    hides the category from every search mode and similar items; lifting it
    brings it back."""
    from sqlalchemy import select

    from agora.storage.tables import AssetRow

    client, ids, platform = world["client"], world["ids"], world["platform"]
    admin = bearer(platform.keys.create(["admin"]).token)

    def categories(hits: list[dict[str, Any]]) -> set[str | None]:
        with platform.db.session() as s:
            q = select(AssetRow.category).where(AssetRow.id.in_([h["id"] for h in hits]))
            return set(s.scalars(q))

    with platform.db.session() as s:
        tanks = s.scalar(select(AssetRow.category).where(AssetRow.id == ids["tankBody_red"]))
        coins = s.scalar(select(AssetRow.category).where(AssetRow.id == ids["coinGold"]))
    assert tanks and coins and tanks != coins

    def surfaces() -> dict[str, list[dict[str, Any]]]:
        return {
            **{
                mode: get(world, "/api/v1/search", q="tank", mode=mode).json()["hits"]
                for mode in ("hybrid", "keyword", "semantic")
            },
            "visual": get(world, "/api/v1/search/visual", q="tank").json()["hits"],
            "similar": get(world, f"/api/v1/assets/{ids['coinGold']}/similar", limit=10).json()[
                "hits"
            ],
        }

    for name, hits in surfaces().items():
        assert tanks in categories(hits), name
    saved, platform.overrides.cache_s = platform.overrides.cache_s, 0.0
    ban = {"action": "ban", "target": "category", "value": tanks, "reason": "test"}
    r = client.post("/api/v1/overrides", json=ban, headers=admin)
    assert r.status_code == 201, r.text
    try:
        for name, hits in surfaces().items():
            assert tanks not in categories(hits), name
        assert surfaces()["similar"]  # other categories are still found
    finally:
        assert client.delete(f"/api/v1/overrides/{r.json()['id']}", headers=admin).is_success
        platform.overrides.cache_s = saved
    assert tanks in categories(surfaces()["hybrid"])
