"""Ranked feed and ranked search over HTTP on an embedded platform, plus the feature log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from agora.api.app import create_app
from agora.config import Settings
from agora.runtime import Platform
from agora.storage.tables import AssetRow, InteractionRow, SellerRow, UserRow
from agora.testing.api import bearer


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    # A generous deadline: cold encoders/indexes must not turn this into a deadline test.
    p = Platform.build(Settings.load(data_dir=tmp_path / "agora", ranking={"deadline_ms": 30_000}))
    now = datetime.now(UTC)
    with p.db.session() as s:
        s.execute(insert(SellerRow), [{"id": f"s{j}", "verified": j == 0} for j in range(5)])
        s.execute(insert(UserRow), [{"id": "u1", "region": "eu", "lat": 48.1, "lon": 11.6}])
        s.execute(
            insert(AssetRow),
            [
                {"id": f"a{i}", "seller_id": f"s{i % 5}", "title": f"asset {i}", "category": "art",
                 "status": "active", "geo_lat": 48.0, "geo_lon": 11.0,
                 "attributes": {"sponsored_bid": 1.0} if i == 40 else {}}
                for i in range(60)
            ],
        )  # fmt: skip
        s.execute(
            insert(InteractionRow),
            [
                {"event_id": f"e{i}", "user_id": "u1", "asset_id": f"a{i % 30}", "type": "click",
                 "ts": now - timedelta(hours=2)}
                for i in range(90)
            ],
        )  # fmt: skip
        s.commit()
    yield p
    p.close()


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform, start_background=False)) as c:
        yield c


def test_feed_and_ranked_search_over_http(client: TestClient, platform: Platform) -> None:
    reader = bearer(platform.keys.create(["read"]).token)
    assert client.get("/api/v1/feed/u1").status_code == 401
    body = client.get("/api/v1/feed/u1?explain=true", headers=reader).json()
    assert len(body["items"]) == 20 and not body["trending_fallback"]
    assert [i["position"] for i in body["items"]] == list(range(1, 21))
    assert [i["position"] for i in body["items"] if i["sponsored"]] == [4]
    assert {"candidates", "prefilter", "hydration", "scoring", "rerank", "polish"} <= set(
        body["timings_ms"]
    )
    assert body["models"]["fraud"] == "fraud-rules@1" and "scorer" in body["models"]
    assert body["items"][0]["explanation"]["seller_trust"][0].endswith("base trust score")

    found = client.get("/api/v1/search/ranked", params={"q": "asset", "n": 5}, headers=reader)
    assert found.status_code == 200, found.text
    assert len(found.json()["items"]) == 5 and found.json()["query"] == "asset"

    assert client.get("/api/v1/search/ranked", headers=reader).status_code == 422
    bad = client.get("/api/v1/feed/u1", params={"n": 0}, headers=reader)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem")

    platform.ranking.feature_log.flush()
    served = platform.ranking.feature_log.served()
    assert set(served["request_id"]) == {body["request_id"], found.json()["request_id"]}
    organic = served[~served["sponsored"]]
    assert all(len(v) == len(organic.iloc[0]["feature_names"]) for v in organic["features"])
    clicks = [{"user_id": "u1", "asset_id": organic.iloc[0]["asset_id"], "type": "click",
               "ts": datetime.now(UTC) + timedelta(minutes=5)}]  # fmt: skip
    labelled = platform.ranking.feature_log.training_frame(clicks)
    assert labelled["label"].sum() >= 1


def test_log_label_train_serve_loop(platform: Platform) -> None:
    from agora.ranking.training import train_from_log

    served = [platform.ranking.feed(f"u{k}", n=20) for k in (1, 1, 1)]
    platform.ranking.feature_log.flush()
    assert all(r.models["scorer"] == "popularity-prior@1" for r in served)
    now = datetime.now(UTC) + timedelta(minutes=2)
    with platform.db.session() as s:
        s.execute(
            insert(InteractionRow),
            [
                {"event_id": f"c{k}", "user_id": "u1", "asset_id": item.asset_id,
                 "type": "click", "ts": now}
                for k, item in enumerate(served[0].items[:6])
                if not item.sponsored
            ],
        )  # fmt: skip
        s.commit()
    refs = train_from_log(platform.db, platform.models, min_rows=20)
    assert set(refs) >= {"pctr", "ranker"}
    scorer = platform.ranking.reload_models()
    assert scorer is not None and str(scorer.pctr.ref) == str(refs["pctr"])
    again = platform.ranking.feed("u1", explain=True)
    assert (
        again.models["pctr"] == str(refs["pctr"])
        and "no_model_popularity_weights" not in again.fallbacks
    )
    first = next(i for i in again.items if not i.sponsored)
    expl = first.explanation
    assert expl is not None and expl["model"] == str(refs["pctr"])
    assert abs(sum(expl["contributions"].values()) + expl["base_value"] - expl["raw"]) < 1e-4
