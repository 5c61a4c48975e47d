"""Scheduler: cron and interval schedules, persisted jobs, skip-with-log of absent tasks."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agora.config import Settings
from agora.errors import InvalidInput
from agora.mlops.scheduler import next_run
from agora.mlops.tasks import TaskRegistry
from agora.runtime import Platform


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    built = Platform.build(Settings.load(data_dir=tmp_path))
    yield built
    built.close()


def test_next_run_intervals_and_cron() -> None:
    t0 = datetime(2026, 1, 1, 10, 7, tzinfo=UTC)
    assert next_run("every 2h", t0) == t0 + timedelta(hours=2)
    assert next_run("*/30 * * * *", t0) == datetime(2026, 1, 1, 10, 30, tzinfo=UTC)
    with pytest.raises(InvalidInput):
        next_run("sometimes", t0)


def test_due_jobs_become_tasks_once_and_absent_tasks_are_skipped(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    registry = TaskRegistry(
        {
            "alert_check": "agora.mlops.monitoring.tasks:alert_check",
            "trending": "agora.nowhere:update",
        }
    )
    orchestrator = platform.orchestrator(registry)
    sched = platform.scheduler(orchestrator)
    sched.add("alerts", "alert_check", "every 5m")
    sched.add("trending", "trending", "every 1h")
    later = datetime.now(UTC) + timedelta(hours=2)
    with caplog.at_level(logging.INFO, logger="agora.mlops.scheduler"):
        submitted = sched.tick(later)
    assert len(submitted) == 1
    assert "task trending is not installed" in caplog.text
    jobs = {j["id"]: j for j in sched.jobs()}
    assert jobs["trending"]["last_status"] == "skipped: task not installed"
    assert not jobs["trending"]["available"]
    # A second scheduler at the same moment finds nothing due; the queued run is not doubled.
    assert platform.scheduler(orchestrator).tick(later) == []
    assert sched.tick(later + timedelta(hours=1)) == []  # previous run still queued
    assert orchestrator.run_until_idle() == 1
    assert sched.tick(later + timedelta(hours=2)) != []
    sched.pause("alerts")
    assert sched.tick(later + timedelta(hours=5)) == []


def test_defaults_are_created_once_and_deletions_persist(platform: Platform) -> None:
    sched = platform.scheduler()
    assert "cache_warm" in sched.ensure_defaults()
    sched.delete("cache_warm")
    assert sched.ensure_defaults() == []
    assert "cache_warm" not in [j["id"] for j in sched.jobs()]
