"""The platform-health rules of ``alert_check``: 5xx rate per route since the
previous check, queue backlog per consumer group, failed tasks; each resolves
its alert once the subject is evaluated again and healthy."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Histogram

from agora.bus import create_bus
from agora.bus.base import Event
from agora.config import Settings
from agora.governance.audit import AuditLog
from agora.mlops.alert_rules import (
    ErrorRate,
    alert_on_platform_health,
    backlog_conditions,
    error_rate_conditions,
    failed_task_conditions,
)
from agora.mlops.alert_store import AlertStore
from agora.mlops.orchestrator import KIND_PREFIX
from agora.ops.queues import unwatch_queue, watch_queue
from agora.storage.database import Database
from agora.storage.jobs import JobStore


def _latency(registry: CollectorRegistry) -> Histogram:
    return Histogram(
        "agora_http_request_duration_seconds",
        "test copy of the request histogram",
        ["method", "route", "status"],
        registry=registry,
    )


def test_the_error_rate_counts_5xx_since_the_previous_check() -> None:
    registry = CollectorRegistry()
    latency = _latency(registry)
    reader = ErrorRate(registry)
    for _ in range(30):
        latency.labels("GET", "/api/v1/search", "200").observe(0.01)
        latency.labels("GET", "/api/v1/feed/{user_id}", "500").observe(0.01)
        latency.labels("GET", "/api/v1/assets/{asset_id}", "404").observe(0.01)  # the client's
    latency.labels("GET", "/console/", "500").observe(0.01)  # console pages are not judged
    latency.labels("POST", "/api/v1/events", "503").observe(0.01)  # too few to judge
    firing, checked = error_rate_conditions(reader, 0.05, 20)
    assert [c.subject for c in firing] == ["GET /api/v1/feed/{user_id}"]
    assert firing[0].value == 1.0 and firing[0].threshold == 0.05
    assert firing[0].details == {"requests": 30, "server_errors": 30}
    assert sorted(checked) == [
        "GET /api/v1/assets/{asset_id}",
        "GET /api/v1/feed/{user_id}",
        "GET /api/v1/search",
    ]
    # Only what moved since: the feed recovered.
    for _ in range(25):
        latency.labels("GET", "/api/v1/feed/{user_id}", "200").observe(0.01)
    firing, checked = error_rate_conditions(reader, 0.05, 20)
    assert firing == [] and checked == ["GET /api/v1/feed/{user_id}"]


def test_failed_tasks_alert_until_their_next_success(db: Database) -> None:
    jobs = JobStore(db)
    ok = jobs.create(f"{KIND_PREFIX}trending")
    jobs.finish(ok, result={})
    bad = jobs.create(f"{KIND_PREFIX}train.ctr")
    jobs.finish(bad, error="InvalidInput: no interactions in the window")
    jobs.finish(jobs.create("asset.pipeline"), error="not a task")  # not an orchestrator task
    firing, checked = failed_task_conditions(jobs)
    assert [c.subject for c in firing] == ["train.ctr"] and checked == ["train.ctr", "trending"]
    assert "no interactions in the window" in firing[0].message
    assert firing[0].details["job_id"] == bad
    store = AlertStore(db, AuditLog(db))
    (alert,) = store.report("job_failed", firing, checked=checked).opened
    jobs.finish(jobs.create(f"{KIND_PREFIX}train.ctr"), result={})
    firing, checked = failed_task_conditions(jobs)
    assert firing == []
    assert [a.id for a in store.report("job_failed", firing, checked=checked).resolved] == [
        alert.id
    ]


def test_a_backlog_over_the_limit_alerts(tmp_path: Path, db: Database) -> None:
    bus = create_bus(Settings.load(data_dir=tmp_path))
    try:
        watch_queue("h22.alerts.test", "slow-group")
        bus.publish_many([Event(topic="h22.alerts.test", payload={"i": i}) for i in range(5)])
        firing, checked = backlog_conditions(bus, 3)
        (backlog,) = [c for c in firing if c.subject == "h22.alerts.test/slow-group"]
        assert backlog.value == 5 and backlog.threshold == 3
        assert "h22.alerts.test/slow-group" in checked
        firing, _ = backlog_conditions(bus, 10)
        assert all(c.subject != "h22.alerts.test/slow-group" for c in firing)

        store = AlertStore(db, AuditLog(db))
        out = alert_on_platform_health(
            ErrorRate(CollectorRegistry()),
            bus,
            JobStore(db),
            store,
            error_rate=0.05,
            queue_depth=3,
            min_requests=20,
        )
        assert set(out) == {"error_rate", "queue_backlog", "job_failed"}
        (alert,) = store.page(kind="queue_backlog", subject="h22.alerts.test/slow-group").items
        assert out["queue_backlog"]["opened"] == [alert.id]
    finally:
        unwatch_queue("h22.alerts.test", "slow-group")
        bus.close()
