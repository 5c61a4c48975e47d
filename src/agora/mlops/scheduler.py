"""Cron-like scheduler with persisted jobs (seed 003): each due job becomes an
orchestrator task.

A schedule is a cron expression (``"*/30 * * * *"``, via croniter) or an
interval (``"every 30m"``, ``"every 2h"``, ``"every 90s"``). Jobs live in the
``scheduled_jobs`` table, so pauses, deletions and added jobs survive restarts.
Default jobs (cache warm every 30 min, recommendation precompute every 2 h,
trending hourly, drift, retraining-trigger, canary and alert checks) are created
once; a deleted default stays deleted (a tombstone row).

Several scheduler processes may run: a due job is taken with a compare-and-set
on its ``next_run_at``, so it is submitted once. A job whose previous task is
still queued or running is not submitted again (no pile-up), and a job whose
task is not installed is skipped with a log line.

The scheduler works with the catalog (the ``scheduled_jobs`` rows), the job
store (is the previous run still going?) and an orchestrator to submit to; the
default jobs and the tick come from settings, at the edge (``default_jobs``).

Example:
    >>> sched = Scheduler(orchestrator, platform.db, platform.jobs,
    ...                   defaults=default_jobs(settings.mlops, settings.recommend),
    ...                   tick_s=settings.mlops.scheduler_tick_s)  # doctest: +SKIP
    >>> sched.ensure_defaults(); sched.tick()  # doctest: +SKIP
    >>> sched.pause("cache_warm")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic

from croniter import croniter
from sqlalchemy import select, update

from agora.errors import Conflict, InvalidInput, NotFound
from agora.mlops.orchestrator import MAX_PRIORITY, MIN_PRIORITY, Orchestrator, Target
from agora.mlops.tables import ScheduledJobRow
from agora.storage.database import rowcount

if TYPE_CHECKING:
    from agora.config import MlopsSettings, RecommendSettings
    from agora.storage.database import Database
    from agora.storage.jobs import JobStore


log = logging.getLogger("agora.mlops.scheduler")

_EVERY = re.compile(r"^every\s+(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


def _utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def next_run(schedule: str, after: datetime) -> datetime:
    """The first run time strictly after ``after``.

    >>> next_run("every 30m", datetime(2025, 1, 1, tzinfo=UTC)).isoformat()
    '2025-01-01T00:30:00+00:00'
    >>> next_run("0 * * * *", datetime(2025, 1, 1, 0, 10, tzinfo=UTC)).isoformat()
    '2025-01-01T01:00:00+00:00'
    """
    text = schedule.strip().lower()
    match = _EVERY.match(text)
    if match:
        seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
        if seconds < 1:
            raise InvalidInput("an interval must be at least 1 second")
        return _utc(after) + timedelta(seconds=seconds)
    if not croniter.is_valid(schedule):
        raise InvalidInput(f"invalid schedule {schedule!r}: a cron expression or 'every N s|m|h|d'")
    nxt: datetime = croniter(schedule, _utc(after)).get_next(datetime)
    return _utc(nxt)


def _every(seconds: float) -> str:
    return f"every {int(seconds)}s" if seconds % 60 else f"every {int(seconds // 60)}m"


def default_jobs(ml: MlopsSettings, recommend: RecommendSettings) -> list[tuple[str, str, str]]:
    """(id, task, schedule) of the jobs every installation starts with.

    >>> from agora.config import MlopsSettings, RecommendSettings
    >>> {job: every for job, _, every in default_jobs(MlopsSettings(), RecommendSettings())}
    ... # doctest: +ELLIPSIS
    {'cache_warm': 'every 30m', 'recommend_precompute': 'every 120m', 'trending': 'every 1h', ...}
    """
    return [
        ("cache_warm", "cache_warm", "every 30m"),
        ("recommend_precompute", "recommend_precompute", _every(recommend.precompute_every_s)),
        ("trending", "trending", "every 1h"),
        ("drift_check", "drift_check", _every(ml.drift_check_every_s)),
        ("trigger_check", "trigger_check", _every(ml.trigger_check_every_s)),
        ("canary_check", "canary_check", _every(ml.canary_check_every_s)),
        ("alert_check", "alert_check", "every 5m"),
        # Tag heads retrain once enough consented feedback arrived (the feedback
        # request also starts it; this catches feedback from other processes).
        ("tagging_retrain", "tagging_retrain", "every 15m"),
        # Seed 001: kept eKYC originals are deleted after the retention window.
        ("ekyc_retention", "ekyc_retention", "every 1h"),
    ]


def _view(row: ScheduledJobRow, available: bool) -> dict[str, Any]:
    return {
        "id": row.id,
        "task": row.task,
        "schedule": row.schedule,
        "params": row.params,
        "priority": row.priority,
        "paused": row.paused,
        "available": available,
        "next_run_at": _utc(row.next_run_at).isoformat(),
        "last_run_at": _utc(row.last_run_at).isoformat() if row.last_run_at else None,
        "last_job_id": row.last_job_id,
        "last_status": row.last_status,
    }


class Scheduler(Generic[Target]):
    """Persisted periodic jobs submitted to an ``Orchestrator`` when due.

    ``defaults`` are the (id, task, schedule) jobs created once
    (``ensure_defaults``); ``tick_s`` is how often ``run_forever`` looks for due jobs."""

    def __init__(
        self,
        orchestrator: Orchestrator[Target],
        db: Database,
        jobs: JobStore,
        *,
        defaults: Sequence[tuple[str, str, str]],
        tick_s: float,
    ) -> None:
        self.orchestrator = orchestrator
        self.db = db
        self.job_store = jobs  # `jobs()` lists the scheduled jobs
        self.defaults = list(defaults)
        self.tick_s = tick_s
        self.registry = orchestrator.registry
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    # -- managing jobs -------------------------------------------------------------

    def ensure_defaults(self, now: datetime | None = None) -> list[str]:
        """Create the default jobs that have never existed; returns the ids created."""
        now = now or datetime.now(UTC)
        created = []
        with self.db.session() as s:
            known = set(s.scalars(select(ScheduledJobRow.id)))
            for job_id, task, schedule in self.defaults:
                if job_id not in known:
                    s.add(self._row(job_id, task, schedule, {}, 5, now))
                    created.append(job_id)
        return created

    def _row(
        self,
        job_id: str,
        task: str,
        schedule: str,
        params: dict[str, Any],
        priority: int,
        now: datetime,
    ) -> ScheduledJobRow:
        return ScheduledJobRow(
            id=job_id,
            task=task,
            schedule=schedule,
            params=params,
            priority=priority,
            paused=False,
            deleted=False,
            next_run_at=next_run(schedule, now),
        )

    def add(
        self,
        job_id: str,
        task: str,
        schedule: str,
        *,
        params: dict[str, Any] | None = None,
        priority: int = 5,
    ) -> dict[str, Any]:
        """Schedule ``task``; 409 if the id is taken (a deleted id may be reused)."""
        if not isinstance(job_id, str) or not _ID.match(job_id):
            raise InvalidInput("job id: letters, digits, '_', '-', '.' (max 64)")
        if task not in self.registry.paths:
            raise NotFound(f"unknown task {task!r}")
        if not MIN_PRIORITY <= priority <= MAX_PRIORITY:
            raise InvalidInput(f"priority must be between {MIN_PRIORITY} and {MAX_PRIORITY}")
        row = self._row(job_id, task, schedule, params or {}, priority, datetime.now(UTC))
        with self.db.session() as s:
            old = s.get(ScheduledJobRow, job_id)
            if old is not None and not old.deleted:
                raise Conflict(f"scheduled job {job_id!r} exists")
            if old is not None:
                s.delete(old)
                s.flush()
            s.add(row)
        return self.get(job_id)

    def get(self, job_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            row = s.get(ScheduledJobRow, job_id)
            if row is None or row.deleted:
                raise NotFound(f"scheduled job {job_id!r} not found")
            return _view(row, self.registry.available(row.task))

    def jobs(self) -> list[dict[str, Any]]:
        with self.db.session() as s:
            rows = list(
                s.scalars(
                    select(ScheduledJobRow)
                    .where(ScheduledJobRow.deleted.is_(False))
                    .order_by(ScheduledJobRow.id)
                )
            )
        return [_view(r, self.registry.available(r.task)) for r in rows]

    def _set(self, job_id: str, **values: Any) -> dict[str, Any]:
        with self.db.session() as s:
            row = s.get(ScheduledJobRow, job_id)
            if row is None or row.deleted:
                raise NotFound(f"scheduled job {job_id!r} not found")
            for key, value in values.items():
                setattr(row, key, value)
        return self.get(job_id) if not values.get("deleted") else {"id": job_id, "deleted": True}

    def pause(self, job_id: str) -> dict[str, Any]:
        return self._set(job_id, paused=True)

    def resume(self, job_id: str) -> dict[str, Any]:
        """Resume; the next run is computed from now (missed runs are not replayed)."""
        with self.db.session() as s:
            row = s.get(ScheduledJobRow, job_id)
            schedule = row.schedule if row is not None else "every 1h"
        return self._set(job_id, paused=False, next_run_at=next_run(schedule, datetime.now(UTC)))

    def delete(self, job_id: str) -> dict[str, Any]:
        return self._set(job_id, deleted=True, paused=True)

    # -- running ---------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> list[str]:
        """Submit every due job once; returns the submitted task job ids."""
        now = now or datetime.now(UTC)
        with self.db.session() as s:
            due = list(
                s.scalars(
                    select(ScheduledJobRow).where(
                        ScheduledJobRow.deleted.is_(False),
                        ScheduledJobRow.paused.is_(False),
                        ScheduledJobRow.next_run_at <= now,
                    )
                )
            )
        submitted = []
        for row in due:
            with self.db.session() as s:
                taken = s.execute(
                    update(ScheduledJobRow)
                    .where(
                        ScheduledJobRow.id == row.id,
                        ScheduledJobRow.next_run_at == row.next_run_at,
                    )
                    .values(next_run_at=next_run(row.schedule, now), last_run_at=now)
                )
            if rowcount(taken) != 1:
                continue  # another scheduler took it
            status, job_id = self._submit(row)
            with self.db.session() as s:
                s.execute(
                    update(ScheduledJobRow)
                    .where(ScheduledJobRow.id == row.id)
                    .values(last_status=status, last_job_id=job_id or row.last_job_id)
                )
            if job_id is not None:
                submitted.append(job_id)
        return submitted

    def _submit(self, row: ScheduledJobRow) -> tuple[str, str | None]:
        if not self.orchestrator.admission.accepting():
            log.info("scheduled job %s skipped: the orchestrator is shut down", row.id)
            return "skipped: orchestrator shut down", None
        if not self.registry.available(row.task):
            log.info(
                "scheduled job %s skipped: task %s is not installed (%s)",
                row.id,
                row.task,
                self.registry.paths.get(row.task),
            )
            return "skipped: task not installed", None
        if row.last_job_id:
            try:
                previous = self.job_store.get(row.last_job_id)["status"]
            except NotFound:
                previous = None
            if previous in ("queued", "running"):
                log.info("scheduled job %s skipped: previous run still %s", row.id, previous)
                return f"skipped: previous run {previous}", None
        job_id = self.orchestrator.submit(
            row.task, dict(row.params), priority=row.priority, created_by=f"scheduler:{row.id}"
        )
        return "submitted", job_id

    def run_forever(self, stop: threading.Event | None = None) -> None:
        stop = stop or self.stop_event
        self.ensure_defaults()
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # retried next tick
                log.exception("scheduler tick failed")
            stop.wait(self.tick_s)

    def start(self) -> None:
        self.stop_event.clear()
        self.thread = threading.Thread(target=self.run_forever, name="scheduler", daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout)
