"""Stored alerts and the drift history: the same behaviour on the SQLite and the
PostgreSQL catalog (open, de-duplicate while firing, resolve when cleared,
reopen, filters and pages, audited acknowledgement, concurrent checks; per
feature PSI and KS at each drift check)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from agora.errors import InvalidInput, NotFound
from agora.governance.audit import AuditLog
from agora.mlops.alert_store import AlertStore, Condition
from agora.mlops.drift import DriftReference
from agora.mlops.drift_history import DriftHistory
from agora.storage.database import Database

T0 = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)


@pytest.fixture
def store(db: Database) -> AlertStore:
    return AlertStore(db, AuditLog(db))


def _backlog(subject: str, depth: float) -> Condition:
    return Condition(subject, "warning", f"{depth:.0f} waiting", value=depth, threshold=1000)


def test_a_persisting_condition_is_one_alert_until_it_clears(store: AlertStore) -> None:
    first = store.report("queue_backlog", [_backlog("a/p", 1200)], now=T0)
    (opened,) = first.opened
    assert (opened.kind, opened.subject, opened.severity) == ("queue_backlog", "a/p", "warning")
    assert (opened.value, opened.threshold, opened.occurrences) == (1200, 1000, 1)
    assert opened.open and opened.first_seen == opened.last_seen == T0

    later = T0 + timedelta(minutes=5)
    again = store.report("queue_backlog", [_backlog("a/p", 1500)], now=later)
    assert again.opened == [] and [a.id for a in again.refreshed] == [opened.id]
    stored = store.get(opened.id)
    assert (stored.value, stored.occurrences) == (1500, 2)
    assert (stored.first_seen, stored.last_seen) == (T0, later)
    assert stored.message == "1500 waiting"

    cleared = T0 + timedelta(minutes=10)
    done = store.report("queue_backlog", [], now=cleared)
    assert [a.id for a in done.resolved] == [opened.id]
    assert store.get(opened.id).resolved_at == cleared and not store.get(opened.id).open

    # A recurrence is a new episode: a new alert, the old one stays resolved.
    back = store.report("queue_backlog", [_backlog("a/p", 1100)], now=cleared + timedelta(1))
    assert [a.id for a in back.opened] != [opened.id] and len(back.opened) == 1
    assert store.get(opened.id).resolved_at == cleared


def test_only_checked_subjects_resolve_and_kinds_are_separate(store: AlertStore) -> None:
    store.report("drift", [Condition("ranking-pctr", "warning", "drift", 0.4, 0.2)], now=T0)
    # Without ``checked`` every open drift alert not firing would resolve: name the one.
    pcvr = Condition("ranking-pcvr", "warning", "drift", 0.5, 0.2)
    assert store.report("drift", [pcvr], checked=["ranking-pcvr"], now=T0).resolved == []
    store.report("error_rate", [Condition("GET /x", "error", "5xx", 0.5, 0.05)], now=T0)
    # pcvr was not measured this time (no recent data): its alert stays open.
    out = store.report("drift", [], checked=["ranking-pctr"], now=T0 + timedelta(hours=1))
    assert [a.subject for a in out.resolved] == ["ranking-pctr"]
    still = store.page(state="open").items
    assert sorted((a.kind, a.subject) for a in still) == [
        ("drift", "ranking-pcvr"),
        ("error_rate", "GET /x"),
    ]
    assert store.open_counts() == {"info": 0, "warning": 1, "error": 1, "critical": 0}


def test_filters_and_pages_newest_first(store: AlertStore) -> None:
    for i in range(7):
        store.report("job_failed", [Condition(f"task{i}", "error", "failed")], checked=[], now=T0)
    store.report("drift", [Condition("m", "warning", "drift", float("nan"), 0.2)], now=T0)
    first = store.page(kind="job_failed", limit=3)
    assert [a.subject for a in first.items] == ["task6", "task5", "task4"]
    assert first.next_cursor is not None
    second = store.page(kind="job_failed", limit=3, cursor=first.next_cursor)
    third = store.page(kind="job_failed", limit=3, cursor=second.next_cursor)
    assert [a.subject for a in second.items + third.items] == ["task3", "task2", "task1", "task0"]
    assert third.next_cursor is None
    (drift,) = store.page(severity="warning").items
    assert drift.value is None and drift.threshold == 0.2  # NaN is not stored as a number
    assert store.page(subject="task3").items[0].kind == "job_failed"
    assert store.page(state="resolved").items == []
    assert len(store.page(acknowledged=False, limit=500).items) == 8
    with pytest.raises(InvalidInput):
        store.page(cursor="abc")
    with pytest.raises(InvalidInput):
        store.page(limit=0)
    with pytest.raises(InvalidInput):
        store.report("drift", [Condition("m", "loud", "?")])  # type: ignore[arg-type]


def test_acknowledging_is_audited_once(store: AlertStore) -> None:
    (alert,) = store.report("drift", [Condition("m", "warning", "drift", 0.3, 0.2)]).opened
    acked = store.acknowledge(alert.id, "key:ab12", "retraining queued")
    assert acked.acknowledged and acked.acked_by == "key:ab12"
    assert acked.ack_note == "retraining queued" and acked.open  # still firing
    again = store.acknowledge(alert.id, "key:cd34", "me too")
    assert (again.acked_by, again.acked_at) == ("key:ab12", acked.acked_at)
    entries = store.audit.query(action="alert.acknowledged").entries
    assert [(e.actor, e.subject_id) for e in entries] == [("key:ab12", str(alert.id))]
    assert entries[0].details["note"] == "retraining queued"
    assert [a.id for a in store.page(acknowledged=True).items] == [alert.id]
    with pytest.raises(NotFound):
        store.acknowledge(10**9, "key:ab12")
    with pytest.raises(NotFound):
        store.get(10**9)


def test_concurrent_checks_open_one_alert(db: Database) -> None:
    stores = [AlertStore(db, AuditLog(db)) for _ in range(4)]
    start = threading.Barrier(len(stores))

    def check(store: AlertStore) -> None:
        start.wait()
        store.report("queue_backlog", [_backlog("t/g", 2000)])

    with ThreadPoolExecutor(len(stores)) as pool:
        list(pool.map(check, stores))
    (alert,) = stores[0].page().items
    assert alert.open and alert.occurrences == len(stores)


def test_the_drift_history_keeps_psi_and_ks_per_feature(db: Database) -> None:
    rng = np.random.default_rng(0)
    reference = DriftReference.fit(rng.normal(size=(2000, 3)), ["price", "age", "score"])
    history = DriftHistory(db)
    shifts = [0.0, 0.2, 1.0]
    for i, shift in enumerate(shifts):
        current = rng.normal(size=(2000, 3)) + np.array([shift, 0.0, 0.0])
        current[:, 2] = np.nan if i == 2 else current[:, 2]  # a column without values
        history.record("m", "3", reference.compare(current), at=T0 + timedelta(hours=i))
    history.record("other", "1", reference.compare(rng.normal(size=(50, 3))), at=T0)

    checks = history.checks("m")
    assert [c.measured_at for c in checks] == [T0 + timedelta(hours=i) for i in range(3)]
    assert [c.version for c in checks] == ["3"] * 3
    assert [f.name for f in checks[0].features] == ["price", "age", "score"]
    price = [c.features[0] for c in checks]
    assert price[0].psi is not None and price[2].psi is not None
    assert price[2].psi > 0.2 > price[0].psi and price[2].drifted
    assert price[2].ks_statistic is not None and price[0].ks_statistic is not None
    assert price[2].ks_statistic > price[0].ks_statistic
    assert price[2].ks_pvalue is not None and price[2].ks_pvalue < 0.05
    # NaN figures (no current values) are stored as null.
    empty = checks[2].features[2]
    assert (empty.psi, empty.ks_statistic, empty.ks_pvalue) == (None, None, None)
    assert checks[0].n_current == 2000 and checks[0].psi_threshold == 0.2
    assert checks[2].to_dict()["n_drifted"] >= 1

    assert [c.measured_at for c in history.checks("m", limit=2)] == [
        T0 + timedelta(hours=1),
        T0 + timedelta(hours=2),
    ]
    since = history.checks("m", since=T0 + timedelta(minutes=30))
    assert [c.measured_at.hour for c in since] == [2, 3]
    assert history.checks("nobody") == []
    assert history.models() == ["m", "other"]
    with pytest.raises(InvalidInput):
        history.checks("m", limit=0)
