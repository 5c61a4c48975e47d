"""Stream consumer: an interaction becomes visible in the online aggregates once
the ``features`` group has processed it (drained synchronously, no wall clock)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from agora.config import FeatureSettings, Settings
from agora.features.base import decayed_affinity
from agora.features.definitions import standard_registry
from agora.features.embedded import EmbeddedOnlineStore
from agora.features.stream import StreamAggregator
from agora.runtime import Platform


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    p = Platform.build(Settings.load(data_dir=tmp_path / "agora"))
    p.people.upsert_seller("s1", {}, "test")
    for aid, cat in (("a1", "art"), ("a2", "audio")):
        p.assets.create(
            {"id": aid, "title": aid, "seller_id": "s1", "category": cat}, [], [], "test"
        )
    yield p
    p.close()


def test_event_visible_in_aggregates_after_consumer_ran(platform: Platform) -> None:
    fs = platform.features
    fs.online.write("asset", ["a1", "a2"], {"category": ["art", "audio"]}, time.time())
    consumer = platform.stream_consumer("t")
    cols = ["views_1h", "views_last_hour", "impressions_5m", "clicks_5m", "ctr_last_hour"]
    assert fs.read("asset", ["a1"], cols)[0].tolist() == [0, 0, 0, 0, 0]
    now = datetime.now(UTC).isoformat()
    events = [
        {"user_id": "u1", "asset_id": "a1", "type": t, "ts": now, "context": {"query": "oak"}}
        for t in ("impression", "impression", "impression", "impression", "view", "click")
    ]
    platform.event_ingest.record(events, actor="test")
    # Published but not processed: nothing changed yet.
    assert fs.read("asset", ["a1"], cols)[0].tolist() == [0, 0, 0, 0, 0]
    assert consumer.drain() == 6
    assert fs.read("asset", ["a1"], cols)[0].tolist() == [1, 1, 4, 1, 0.25]
    [user] = fs.read_rows("user", ["u1"])
    assert user["session_clicks_last_5m"] == 1 and user["events_24h"] == 6
    assert user["current_search_query"] == "oak" and user["last_viewed_category"] == "art"
    assert user["last_event_type"] in ("view", "click", "impression")
    aff = decayed_affinity(fs.online, "u1", ["a1", "a2"], half_life_s=7 * 86400, now=time.time())
    assert aff[0] == pytest.approx(1.0 + 1.5, rel=1e-3) and aff[1] == 0.0
    # Logged offline as well, so training sees what serving saw.
    assert fs.offline.view_files("asset_realtime")
    # A redelivered batch is not counted twice.
    assert consumer.drain() == 0
    assert fs.read("asset", ["a1"], ["views_1h"])[0, 0] == 1


def _agg(tmp_path: Path, **kw: float) -> tuple[StreamAggregator, EmbeddedOnlineStore]:
    store = EmbeddedOnlineStore(tmp_path / "on", standard_registry())
    return StreamAggregator(store, FeatureSettings(**kw)), store  # type: ignore[arg-type]


def test_windows_slide_and_refresh_decays_counts(tmp_path: Path) -> None:
    agg, store = _agg(tmp_path)
    t0 = 1_800_000_000.0
    evs = [{"user_id": "u", "asset_id": "a", "type": "view", "ts": t0 + i} for i in range(3)]
    agg.apply(evs, [f"e{i}" for i in range(3)])
    cols = ["views_5m", "views_1h", "views_24h"]
    assert store.read("asset", ["a"], cols, now=t0)[0].tolist() == [3, 3, 3]
    agg.refresh(now=t0 + 600)  # 10 min later: out of the 5 min window only
    assert store.read("asset", ["a"], cols, now=t0 + 600)[0].tolist() == [0, 3, 3]
    agg.refresh(now=t0 + 2 * 3600)
    assert store.read("asset", ["a"], cols, now=t0 + 7200)[0].tolist() == [0, 0, 3]


def test_affinity_decays_with_half_life_and_weights(tmp_path: Path) -> None:
    agg, store = _agg(tmp_path, affinity_half_life_s=100.0)
    t0 = 1_800_000_000.0
    events = [
        {"user_id": "u", "asset_id": "a", "type": "purchase", "ts": t0},
        {"user_id": "u", "asset_id": "a", "type": "view", "ts": t0 + 100},
    ]
    agg.apply(events, ["p", "v"])
    got = decayed_affinity(store, "u", ["a"], half_life_s=100.0, now=t0 + 200)[0]
    assert got == pytest.approx(10.0 / 4 + 1.0 / 2)  # purchase 2 half-lives ago, view 1
    weights = FeatureSettings().affinity_weights
    assert weights["view"] < weights["favorite"] < weights["add_to_cart"] < weights["purchase"]
    assert (
        math.isfinite(got)
        and np.isfinite(store.read("user_asset", ["u|a"], ["affinity_log"])).all()
    )


def test_warm_start_rebuilds_windows_and_skips_redeliveries(platform: Platform) -> None:
    now = datetime.now(UTC).isoformat()
    platform.event_ingest.record(
        [{"user_id": "u1", "asset_id": "a2", "type": "view", "ts": now}] * 1, actor="test"
    )
    fresh = platform.stream_consumer("restarted")  # a new process: empty windows
    assert fresh.warm_start() == 1
    assert fresh.drain() == 1  # acked, but already counted by the warm start: skipped
    assert platform.features.read("asset", ["a2"], ["views_24h"])[0, 0] == 1


def test_catalog_changes_mirror_stock_status_online(platform: Platform) -> None:
    fs = platform.features
    cols = ["stock_status", "price", "category"]
    consumer = platform.stream_consumer("t")
    consumer.drain()
    assert fs.read_rows("asset", ["a1"], cols)[0]["stock_status"] == ""  # never materialised
    service = platform.assets
    service.update("a1", {"stock": 0, "price": 12.5}, "test", may_moderate=False)
    assert fs.read_rows("asset", ["a1"], cols)[0]["stock_status"] == ""  # not consumed yet
    consumer.drain()
    assert fs.read_rows("asset", ["a1"], cols)[0] == {
        "stock_status": "out_of_stock",
        "price": 12.5,
        "category": "art",
    }
    service.update("a1", {"status": "banned"}, "test", may_moderate=True)
    service.update("a2", {"stock": 3}, "test", may_moderate=False)
    consumer.drain()
    got = [r["stock_status"] for r in fs.read_rows("asset", ["a1", "a2"], cols)]
    assert got == ["unavailable", "in_stock"]
