"""Point-in-time joins of the offline store against a brute-force reference."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agora.errors import InvalidInput, NotFound
from agora.features import OfflineStore, ViewSpec

T0 = datetime(2024, 1, 1)


def hours(h: float) -> datetime:
    return T0 + timedelta(hours=h)


# A feature row: (entity, event hour, delay until created, value). Small ranges force ties.
feature_row = st.tuples(
    st.integers(0, 3),
    st.integers(0, 12),
    st.sampled_from([0, 0, 0, 1, 3, 8]),
    st.integers(-1000, 1000),
)
label_row = st.tuples(st.integers(0, 4), st.integers(-2, 20))


def reference(batches, labels, ttl_h, guard):
    """Brute force: scan every row written, keep the best visible one, then apply the TTL."""
    out = []
    for entity, t in labels:
        best = None
        for b, batch in enumerate(batches):
            for r, (e, ev, delay, value) in enumerate(batch):
                if e != entity or ev > t or (guard and ev + delay > t):
                    continue
                rank = (ev, ev + delay, b, r)
                if best is None or rank > best[0]:
                    best = (rank, value)
        if best is None or (ttl_h is not None and t - best[0][0] > ttl_h):
            out.append(None)
        else:
            out.append(best[1])
    return out


def write_batches(store: OfflineStore, batches) -> None:
    for batch in batches:
        store.write(
            "stats",
            {
                "user_id": pa.array([e for e, *_ in batch], pa.int64()),
                "event_timestamp": [hours(ev) for _, ev, _, _ in batch],
                "created_timestamp": [hours(ev + d) for _, ev, d, _ in batch],
                "clicks": pa.array([v for *_, v in batch], pa.int64()),
            },
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batches=st.lists(st.lists(feature_row, min_size=1, max_size=12), min_size=1, max_size=3),
    labels=st.lists(label_row, min_size=1, max_size=15),
    ttl_h=st.one_of(st.none(), st.integers(0, 6)),
    guard=st.booleans(),
)
def test_pit_join_equals_brute_force(batches, labels, ttl_h, guard) -> None:
    with tempfile.TemporaryDirectory() as root:
        store = OfflineStore(Path(root), threads=1)
        write_batches(store, batches)
        ttl = None if ttl_h is None else timedelta(hours=ttl_h)
        result = store.training_set(
            {
                "user_id": pa.array([e for e, _ in labels], pa.int64()),
                "event_timestamp": [hours(t) for _, t in labels],
                "label": list(range(len(labels))),
            },
            [ViewSpec("stats", "user_id", ["clicks"], ttl=ttl)],
            guard_created=guard,
        )
    assert result.column("label").to_pylist() == list(range(len(labels)))
    assert result.column("clicks").to_pylist() == reference(batches, labels, ttl_h, guard)


@pytest.fixture
def store(tmp_path: Path) -> OfflineStore:
    s = OfflineStore(tmp_path)
    # user 1: value at 0h; value at 1h backfilled only at 5h; value at 2h on time.
    s.write(
        "stats",
        {
            "user_id": [1, 1, 1, 2, 2],
            "event_timestamp": [hours(0), hours(1), hours(2), hours(0), hours(0)],
            "created_timestamp": [hours(0), hours(5), hours(2), hours(0), hours(1)],
            "clicks": [10, 11, 12, 20, 21],
        },
    )
    return s


LABELS = {
    "user_id": [1, 1, 1, 2, 3, 2, 1],
    "event_timestamp": [hours(h) for h in (1.5, 6, 0.5, 3, 3, 30, -1)],
}


def test_late_backfill_does_not_leak_and_falls_back(store: OfflineStore) -> None:
    spec = ViewSpec("stats", "user_id", ["clicks"])
    guarded = store.training_set(LABELS, [spec]).column("clicks").to_pylist()
    # At 1.5h the 1h value was not written yet: fall back to the 0h value, not NULL.
    assert guarded == [10, 12, 10, 21, None, 21, None]
    unguarded = store.training_set(LABELS, [spec], guard_created=False)
    assert unguarded.column("clicks").to_pylist() == [11, 12, 10, 21, None, 21, None]


def test_ttl_expiry_and_tie_goes_to_latest_created(store: OfflineStore) -> None:
    spec = ViewSpec("stats", "user_id", ["clicks"], ttl=timedelta(hours=24))
    result = store.training_set(LABELS, [spec])
    # user 2 at 3h: both rows have event 0h; the one created later (21) wins.
    # user 2 at 30h: 30h old > 24h TTL -> missing.
    assert result.column("clicks").to_pylist() == [10, 12, 10, 21, None, None, None]
    assert result.column("user_id").to_pylist() == LABELS["user_id"]


def test_two_views_and_composite_key(tmp_path: Path) -> None:
    store = OfflineStore(tmp_path)
    store.write(
        "pair",
        {
            "user_id": [1, 1],
            "asset_id": ["a", "b"],
            "event_timestamp": [hours(0), hours(0)],
            "created_timestamp": [hours(0), hours(0)],
            "views": [3, 4],
        },
    )
    store.write(
        "asset",
        {
            "asset_id": ["a"],
            "event_timestamp": [hours(1)],
            "created_timestamp": [hours(1)],
            "price": [2.5],
        },
    )
    result = store.training_set(
        {
            "user_id": [1, 1, 1],
            "asset_id": ["b", "a", "a"],
            "event_timestamp": [hours(2), hours(2), hours(0.5)],
        },
        [
            ViewSpec("pair", ("user_id", "asset_id"), ["views"]),
            ViewSpec("asset", "asset_id", ["price"]),
        ],
    )
    assert result.column("views").to_pylist() == [4, 3, 3]
    assert result.column("price").to_pylist() == [None, 2.5, None]


def test_timezone_aware_labels_match_naive_utc_features(store: OfflineStore) -> None:
    from datetime import timezone

    berlin = timezone(timedelta(hours=1))
    labels = {"user_id": [1], "event_timestamp": [datetime(2024, 1, 1, 3, 30, tzinfo=berlin)]}
    result = store.training_set(labels, [ViewSpec("stats", "user_id", ["clicks"])])
    assert result.column("clicks").to_pylist() == [12]  # 02:30 UTC


def test_bad_input_gives_clear_errors(store: OfflineStore) -> None:
    with pytest.raises(NotFound):
        store.training_set(LABELS, [ViewSpec("nope", "user_id", ["clicks"])])
    with pytest.raises(InvalidInput, match="no column 'missing'"):
        store.training_set(LABELS, [ViewSpec("stats", "user_id", ["missing"])])
    with pytest.raises(InvalidInput, match="entity key"):
        store.training_set(LABELS, [ViewSpec("stats", "item_id", ["clicks"])])
    with pytest.raises(InvalidInput, match="timestamp"):
        store.training_set({"user_id": [1], "event_timestamp": [1]}, [])
    with pytest.raises(InvalidInput, match="created_timestamp"):
        store.write("stats", {"user_id": [1], "event_timestamp": [T0]})
