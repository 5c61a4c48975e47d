"""Task orchestrator: a priority queue of named tasks on the foundation's job store.

Tasks *are* jobs (``kind = "task:<name>"``): ``submit`` inserts a queued job
with a priority (0-10, higher runs first); runner threads claim the best
queued job with a conditional UPDATE (``queued -> running``), so any number of
processes (the API with embedded backends, ``agora worker``, ``agora
scheduler``) can share one queue without running a job twice. Progress and
cancellation go through the job row, which ``GET /api/v1/pipelines/{id}`` and
``GET /api/v1/jobs/{id}`` read.

The orchestrator runs on the job store, the catalog and the ``mlops`` settings;
the *task target* (what every task function receives first: the process's
composition root) is passed through to the tasks untouched, so the queue never
depends on what the tasks use.

Example:
    >>> orch = Orchestrator(platform, platform.jobs, platform.db, platform.settings.mlops)
    ... # doctest: +SKIP
    >>> job_id = orch.submit("train.ctr", priority=8)  # doctest: +SKIP
    >>> orch.run_until_idle()  # doctest: +SKIP
    >>> platform.jobs.get(job_id)["status"]  # doctest: +SKIP
    'succeeded'
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import func, select, update

from agora.errors import Conflict, InvalidInput, NotFound
from agora.mlops.admission import TaskAdmission
from agora.mlops.tasks import TaskCancelled, TaskContext, TaskRegistry, call_task
from agora.ops.shutdown import join_within
from agora.storage.database import rowcount
from agora.storage.jobs import TERMINAL, JobStatus, job_view
from agora.storage.tables import JobRow

if TYPE_CHECKING:
    from agora.config import MlopsSettings
    from agora.storage.database import Database
    from agora.storage.jobs import JobStore


log = logging.getLogger("agora.mlops.orchestrator")

KIND_PREFIX = "task:"
TERMINAL_VALUES = frozenset(st.value for st in TERMINAL)
MIN_PRIORITY, MAX_PRIORITY = 0, 10

# What task functions receive first (the process's composition root): opaque here.
Target = TypeVar("Target")


class Orchestrator(Generic[Target]):
    """Submit, claim, run and cancel named tasks, with bounded concurrency.

    ``target`` is handed to every task function as its first argument; the
    queue itself works with ``jobs``, ``db`` (the ``task:*`` job rows) and
    ``mlops`` (the task overrides and the concurrency). ``admission`` is the
    process's door and in-flight count, shared by its orchestrators (a new one
    by default): :meth:`shutdown` through one drains every runner of the process."""

    def __init__(
        self,
        target: Target,
        jobs: JobStore,
        db: Database,
        mlops: MlopsSettings,
        registry: TaskRegistry | None = None,
        *,
        concurrency: int | None = None,
        poll_s: float = 0.5,
        admission: TaskAdmission | None = None,
    ) -> None:
        self.target = target
        self.jobs = jobs
        self.db = db
        self.registry = registry or TaskRegistry.from_settings(mlops.tasks)
        self.concurrency = max(1, concurrency or mlops.orchestrator_concurrency)
        self.poll_s = poll_s
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.admission = admission or TaskAdmission()

    # -- queue -------------------------------------------------------------------

    def submit(
        self,
        name: str,
        params: dict[str, Any] | None = None,
        *,
        priority: int = 5,
        created_by: str | None = None,
    ) -> str:
        """Queue task ``name``; 404 for an unknown task, 409 if it is not installed,
        409 after :meth:`shutdown` (until the process starts again): a state the
        client can act on, not a server fault."""
        if not self.admission.accepting():
            raise Conflict(
                "the orchestrator is shut down: no new tasks until the platform restarts"
            )
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise InvalidInput("priority must be an integer")
        if not MIN_PRIORITY <= priority <= MAX_PRIORITY:
            raise InvalidInput(f"priority must be between {MIN_PRIORITY} and {MAX_PRIORITY}")
        if params is not None and not isinstance(params, dict):
            raise InvalidInput("params must be an object")
        self.registry.resolve(name)
        return self.jobs.create(
            f"{KIND_PREFIX}{name}",
            subject_id=name,
            priority=priority,
            params=params or {},
            created_by=created_by,
        )

    def claim(self) -> dict[str, Any] | None:
        """Take the highest-priority, oldest queued task (None when there is none)."""
        with self.db.session() as s:
            candidates = list(
                s.scalars(
                    select(JobRow.id)
                    .where(
                        JobRow.kind.like(f"{KIND_PREFIX}%"),
                        JobRow.status == JobStatus.QUEUED.value,
                    )
                    .order_by(JobRow.priority.desc(), JobRow.created_at, JobRow.id)
                    .limit(5)
                )
            )
        for job_id in candidates:
            with self.db.session() as s:
                won = s.execute(
                    update(JobRow)
                    .where(JobRow.id == job_id, JobRow.status == JobStatus.QUEUED.value)
                    .values(status=JobStatus.RUNNING.value, started_at=datetime.now(UTC))
                )
            if rowcount(won) == 1:
                return self.jobs.get(job_id)
        return None

    def run_job(self, job: dict[str, Any]) -> None:
        """Run one claimed job to a terminal state; never raises."""
        job_id, name = job["id"], str(job["kind"])[len(KIND_PREFIX) :]
        ctx = TaskContext(self.jobs, job_id)
        self.admission.started(job_id)
        started = time.perf_counter()
        try:
            fn = self.registry.resolve(name)
            result = call_task(fn, self.target, ctx, job.get("params") or {})
        except TaskCancelled:
            log.info("task %s (%s) cancelled", name, job_id)
            return
        except Exception as exc:  # the job records it; the runner keeps going
            log.exception("task %s (%s) failed", name, job_id)
            if not ctx.cancelled():
                self.jobs.finish(job_id, error=f"{type(exc).__name__}: {exc}")
            return
        finally:
            self.admission.ended(job_id)
        if not ctx.cancelled():
            result.setdefault("duration_s", round(time.perf_counter() - started, 3))
            self.jobs.finish(job_id, result=result)

    def run_until_idle(self, max_jobs: int | None = None) -> int:
        """Run queued tasks in this thread until the queue is empty; returns how many."""
        done = 0
        while (max_jobs is None or done < max_jobs) and self.take_one():
            done += 1
        return done

    def take_one(self) -> bool:
        """Claim and run one task if this process still takes tasks; False when
        there was none to claim (or the process is shut down)."""
        if not self.admission.enter():
            return False
        try:
            job = self.claim()
            if job is None:
                return False
            self.run_job(job)
            return True
        finally:
            self.admission.leave()

    def active(self, name: str) -> bool:
        """Whether a ``name`` task is queued or running (among its 20 latest)."""
        return any(
            j["status"] in ("queued", "running")
            for j in self.jobs.list(kind=f"{KIND_PREFIX}{name}", limit=20)
        )

    def task(self, job_id: str) -> dict[str, Any]:
        """One orchestrated task's job view with its ``task_id`` and task ``name``;
        ``NotFound`` for an unknown id or a job that is not a task."""
        job = self.jobs.get(job_id)
        kind = str(job["kind"])
        if not kind.startswith(KIND_PREFIX):
            raise NotFound(f"pipeline task {job_id!r} not found")
        return {
            "task_id": job["id"],
            "name": kind[len(KIND_PREFIX) :],
            "progress": job["percent"],
            **job,
        }

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel a queued or running task (a running one stops at its next progress
        report); returns its view as :meth:`task` does. 409 for a task that has
        already ended (succeeded, failed or cancelled): there is nothing to stop."""
        status = self.task(job_id)["status"]
        if status in TERMINAL_VALUES:
            raise Conflict(f"task {job_id!r} has already {status}: nothing to cancel")
        self.jobs.cancel(job_id)
        return self.task(job_id)

    # -- views -------------------------------------------------------------------

    def tasks(
        self, *, status: str | None = None, name: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Recent orchestrated tasks, newest first; only ``status`` ones, only task
        ``name``'s (422 for a name that is no task) when given."""
        if name is not None and name not in self.registry.paths:
            raise InvalidInput(
                f"unknown task type {name!r}; known: {', '.join(self.registry.names())}"
            )
        with self.db.session() as s:
            q = (
                select(JobRow)
                .where(JobRow.kind.like(f"{KIND_PREFIX}%"))
                .order_by(JobRow.created_at.desc())
                .limit(limit)
            )
            if status:
                q = q.where(JobRow.status == status)
            if name is not None:
                q = q.where(JobRow.kind == f"{KIND_PREFIX}{name}")
            return [job_view(r) for r in s.scalars(q)]

    def status(self) -> dict[str, Any]:
        """Queue and runner state, and which tasks are installed."""
        with self.db.session() as s:
            counts = dict(
                s.execute(
                    select(JobRow.status, func.count())
                    .where(JobRow.kind.like(f"{KIND_PREFIX}%"))
                    .group_by(JobRow.status)
                ).all()
            )
        running_here = self.admission.running_ids()
        return {
            "accepting_tasks": self.admission.accepting(),
            "running_in_this_process": running_here,
            "runner_threads": sum(t.is_alive() for t in self.threads),
            "concurrency": self.concurrency,
            "counts": {st.value: int(counts.get(st.value, 0)) for st in JobStatus},
            "active": int(counts.get("queued", 0)) + int(counts.get("running", 0)),
            "tasks": [t.to_dict() for t in self.registry.infos()],
            "terminal_statuses": sorted(s.value for s in TERMINAL),
        }

    # -- runner threads ------------------------------------------------------------

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            try:
                took = self.take_one()
            except Exception:  # database hiccup: retry on the next poll
                log.exception("claiming a task failed")
                took = False
            if not took:
                self.stop_event.wait(self.poll_s)

    def shutdown(self, timeout: float) -> dict[str, Any]:
        """Seed 003's graceful shutdown of this process's orchestrator: refuse new
        tasks (submissions answer 409, runners stop claiming), then wait up to
        ``timeout`` seconds for the running ones to end. Queued tasks stay queued
        (another process, or this one after a restart, runs them); the runner
        threads idle until :meth:`start` (a platform restart) opens the door again."""
        self.admission.close()
        started = time.perf_counter()
        drained = self.admission.wait_idle(timeout)
        log.info("orchestrator shut down (%s)", "drained" if drained else "timed out draining")
        return {
            "status": "drained" if drained else "timeout",
            "drained": drained,
            "accepting_tasks": self.admission.accepting(),
            "still_running": self.admission.running_ids(),
            "waited_s": round(time.perf_counter() - started, 3),
        }

    def start(self) -> None:
        """Open the door (after a shutdown) and start ``concurrency`` runner threads."""
        self.admission.reopen()
        self.stop_event.clear()
        for i in range(self.concurrency):
            t = threading.Thread(target=self._loop, name=f"orchestrator-{i}", daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the runners within ``timeout`` seconds in all."""
        self.stop_event.set()
        join_within(self.threads, timeout)
        self.threads.clear()
