"""Offline store corner cases of the three-step point-in-time join (see offline.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from agora.errors import InvalidInput
from agora.features import OfflineStore, ViewSpec

T0 = datetime(2024, 1, 1)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_tie_with_a_late_row_and_fallback_bounded_by_ttl(tmp_path: Path) -> None:
    store = OfflineStore(tmp_path, threads=1)
    store.write(
        "stats",
        {
            "user_id": [1, 1, 1, 2, 2],
            "event_timestamp": [h(0), h(10), h(10), h(0), h(20)],
            # user 1 at 10h: one row on time, its tie created later; user 2 at 20h: late.
            "created_timestamp": [h(0), h(10), h(15), h(0), h(40)],
            "clicks": [1, 2, 3, 4, 5],
        },
    )
    labels = {"user_id": [1, 1, 2, 2, 2], "event_timestamp": [h(12), h(16), h(30), h(5), h(41)]}
    spec = ViewSpec("stats", "user_id", ["clicks"], ttl=timedelta(hours=24))
    got = store.training_set(labels, [spec]).column("clicks").to_pylist()
    # 12h: the tie created at 15h is not visible yet; 16h: it is and wins (created later).
    # 30h: the 20h row landed at 40h; the 0h fallback is 30h old > TTL, so NULL.
    assert got == [2, 3, None, 4, 5]
    longer = ViewSpec("stats", "user_id", ["clicks"], ttl=timedelta(hours=48))
    assert store.training_set(labels, [longer]).column("clicks").to_pylist() == [2, 3, 4, 4, 5]


def test_reserved_names_are_rejected(tmp_path: Path) -> None:
    store = OfflineStore(tmp_path)
    store.write(
        "stats",
        {"user_id": [1], "event_timestamp": [h(0)], "created_timestamp": [h(0)], "clicks": [1]},
    )
    labels = {"user_id": [1], "event_timestamp": [h(1)], "__row": [0]}
    with pytest.raises(InvalidInput, match="reserved"):
        store.training_set(labels, [ViewSpec("stats", "user_id", ["clicks"])])
