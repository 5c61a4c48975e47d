"""The simulated session generator: deterministic, sane rates, valid events."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from agora.demo.catalog import build_demo_catalog
from agora.demo.simulator import SessionSimulator, SimAsset
from agora.domain import INTERACTION_TYPES
from agora.errors import InvalidInput

END = datetime(2024, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def simulator() -> SessionSimulator:
    demo = build_demo_catalog()
    assets = [
        SimAsset(a.key, a.metadata["category"], float(a.metadata["price"])) for a in demo.assets
    ]
    return SessionSimulator(assets, [u.user_id for u in demo.users], seed=11, end=END)


def _fresh(seed: int) -> list[list[dict]]:
    demo = build_demo_catalog()
    assets = [
        SimAsset(a.key, a.metadata["category"], float(a.metadata["price"])) for a in demo.assets
    ]
    sim = SessionSimulator(assets, [u.user_id for u in demo.users], seed=seed, end=END)
    return list(sim.sessions(50))


def test_same_seed_same_sessions_and_other_seed_differs() -> None:
    assert _fresh(5) == _fresh(5)
    assert _fresh(5) != _fresh(6)


def test_events_are_valid_and_ordered(simulator: SessionSimulator) -> None:
    sessions = list(simulator.sessions(300))
    ids = [e["event_id"] for s in sessions for e in s]
    assert len(ids) == len(set(ids))
    starts = []
    for events in sessions:
        assert events, "a session always has impressions"
        assert len({e["session_id"] for e in events}) == 1
        assert len({e["user_id"] for e in events}) == 1
        stamps = [datetime.fromisoformat(e["ts"]) for e in events]
        assert stamps == sorted(stamps)
        assert all(END - timedelta(days=7) <= t <= END + timedelta(hours=1) for t in stamps)
        starts.append(stamps[0])
        shown = {e["asset_id"] for e in events if e["type"] == "impression"}
        for e in events:
            assert e["type"] in INTERACTION_TYPES
            assert e["asset_id"] in shown  # no feedback on an asset never shown
            assert e["context"]["simulated"] is True
    assert starts == sorted(starts)


def test_funnel_rates_are_plausible(simulator: SessionSimulator) -> None:
    counts = Counter(e["type"] for s in simulator.sessions(2000) for e in s)
    ctr = counts["click"] / counts["impression"]
    assert 0.01 < ctr < 0.2
    assert counts["view"] == counts["click"]
    assert 0 < counts["purchase"] <= counts["add_to_cart"] < counts["click"]
    assert 0 < counts["favorite"] < counts["click"]
    assert counts["skip"] > 0


def test_clicks_follow_hidden_affinity_and_position(simulator: SessionSimulator) -> None:
    clicked, shown = Counter(), Counter()
    top, bottom = [0, 0], [0, 0]
    for events in simulator.sessions(3000, offset=10_000):
        user = events[0]["user_id"]
        slate = [e["asset_id"] for e in events if e["type"] == "impression"]
        clicks = {e["asset_id"] for e in events if e["type"] == "click"}
        for pos, asset_id in enumerate(slate):
            high = simulator.true_affinity(user, asset_id) > 0.5
            shown[high] += 1
            clicked[high] += asset_id in clicks
            bucket = top if pos == 0 else bottom if pos == len(slate) - 1 else None
            if bucket is not None:
                bucket[0] += 1
                bucket[1] += asset_id in clicks
    assert clicked[True] / shown[True] > 3 * clicked[False] / shown[False]
    assert top[1] / top[0] > bottom[1] / bottom[0]


def test_ideal_ranking_sorts_by_true_affinity(simulator: SessionSimulator) -> None:
    user = next(iter(simulator.users))
    ranking = simulator.ideal_ranking(user, 10)
    scores = [simulator.true_affinity(user, a) for a in ranking]
    assert scores == sorted(scores, reverse=True)
    assert len(ranking) == 10


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(InvalidInput):
        SessionSimulator([], ["u1"])
    sim = SessionSimulator([SimAsset("a", "c", 1.0)], ["u1"])
    with pytest.raises(InvalidInput):
        list(sim.sessions(-1))
    assert SimAsset.from_record({"id": "x", "category": None, "price": "2.50"}) == SimAsset(
        "x", "uncategorized", 2.5
    )
