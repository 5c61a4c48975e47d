"""Job store: long tasks (pipeline runs, imports, training) with status and percent.

A batch job (``create_batch``) stands for many items at once; each accepted
item runs as a child job whose ``params`` name the batch (``PARENT_KEY``), and
the batch's counters move when a child ends (see ``job_batches``).

Example:
    >>> jobs = JobStore(db)  # doctest: +SKIP
    >>> job_id = jobs.create("pipeline", subject_id="asset-1")  # doctest: +SKIP
    >>> jobs.progress(job_id, 50.0, "integrity done")  # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from agora.domain import JobStatus
from agora.errors import NotFound
from agora.storage.database import Database, rowcount
from agora.storage.job_batches import PARENT_KEY, BatchProgress
from agora.storage.tables import JobRow

__all__ = ["TERMINAL", "JobStatus", "JobStore", "job_view"]

TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})
_TERMINAL_VALUES = sorted(s.value for s in TERMINAL)


def _end(s: Session, job_id: str, values: dict[str, Any]) -> bool:
    """Move a job to a terminal status; True when this call ended it.

    A compare-and-set, so of two workers settling the same (redelivered) job
    only one ends it and its batch counts the child once. A job that ended
    already is overwritten, as before, but counts nothing."""
    first = s.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.status.not_in(_TERMINAL_VALUES))
        .values(**values)
    )
    if rowcount(first):
        return True
    s.execute(update(JobRow).where(JobRow.id == job_id).values(**values))
    return False


def _locked(s: Session, job_id: str) -> JobRow | None:
    """The row, read after taking its write lock: the counters' read-modify-write
    must not interleave with another child's. The no-op UPDATE takes the row
    lock on PostgreSQL and the database write lock on SQLite, both portable
    where ``SELECT ... FOR UPDATE`` is not."""
    s.execute(update(JobRow).where(JobRow.id == job_id).values(id=JobRow.id))
    return s.get(JobRow, job_id, populate_existing=True)


def _store_progress(row: JobRow, progress: BatchProgress) -> None:
    row.result = progress.to_result()
    row.percent = progress.percent
    row.message = progress.message
    if progress.finished:
        row.status = JobStatus.SUCCEEDED
        row.finished_at = datetime.now(UTC)


def job_view(row: JobRow) -> dict[str, Any]:
    """API representation of a job."""
    return {
        "id": row.id,
        "kind": row.kind,
        "subject_id": row.subject_id,
        "status": row.status,
        "percent": round(row.percent, 1),
        "message": row.message,
        "priority": row.priority,
        "params": row.params,
        "result": row.result,
        "error": row.error,
        "created_at": row.created_at.isoformat(),
        "started_at": row.started_at.isoformat() if row.started_at else None,
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
    }


class JobStore:
    """Create jobs and report their progress; shared by every long task."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        kind: str,
        *,
        subject_id: str | None = None,
        priority: int = 5,
        params: dict[str, Any] | None = None,
        created_by: str | None = None,
        job_id: str | None = None,
    ) -> str:
        """Register a queued job and return its id."""
        job_id = job_id or uuid.uuid4().hex
        with self.db.session() as s:
            s.add(
                JobRow(
                    id=job_id,
                    kind=kind,
                    subject_id=subject_id,
                    priority=priority,
                    params=params or {},
                    created_by=created_by,
                )
            )
        return job_id

    def get(self, job_id: str) -> dict[str, Any]:
        """A job's view; ``NotFound`` for unknown ids."""
        with self.db.session() as s:
            row = s.get(JobRow, job_id)
            if row is None:
                raise NotFound(f"job {job_id!r} not found")
            return job_view(row)

    def start(self, job_id: str) -> None:
        """Mark running (idempotent; a redelivered job keeps its first start time)."""
        with self.db.session() as s:
            row = s.get(JobRow, job_id)
            if row is not None and row.status not in TERMINAL:
                row.status = JobStatus.RUNNING
                row.started_at = row.started_at or datetime.now(UTC)

    def start_many(self, job_ids: Sequence[str]) -> None:
        """``start`` for a batch of jobs in one transaction (the pipeline worker's)."""
        if not job_ids:
            return
        with self.db.session() as s:
            for row in s.scalars(select(JobRow).where(JobRow.id.in_(set(job_ids)))):
                if row.status not in TERMINAL:
                    row.status = JobStatus.RUNNING
                    row.started_at = row.started_at or datetime.now(UTC)

    def progress_many(self, job_ids: Sequence[str], percent: float, message: str | None) -> None:
        """``progress`` for a batch of jobs at the same stage, in one transaction."""
        if not job_ids:
            return
        with self.db.session() as s:
            s.execute(
                update(JobRow)
                .where(JobRow.id.in_(set(job_ids)), JobRow.status.not_in(_TERMINAL_VALUES))
                .values(percent=max(0.0, min(100.0, percent)), message=message)
            )

    def progress(self, job_id: str, percent: float, message: str | None = None) -> None:
        """Update percent (0-100) and message."""
        with self.db.session() as s:
            row = s.get(JobRow, job_id)
            if row is not None and row.status not in TERMINAL:
                row.percent = max(0.0, min(100.0, percent))
                row.message = message

    def finish(
        self, job_id: str, *, result: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        """Mark succeeded (or failed when ``error`` is given)."""
        values: dict[str, Any] = {
            "status": JobStatus.FAILED if error else JobStatus.SUCCEEDED,
            "error": error,
            "finished_at": datetime.now(UTC),
        }
        if not error:
            values["percent"] = 100.0
        if result:
            values["result"] = result
        with self.db.session() as s:
            if _end(s, job_id, values):
                self._count_child(s, job_id, failed=error is not None)

    def finish_many(self, results: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """``finish`` (succeeded, with its result) for a batch of jobs in one
        transaction; each batch parent counts its children as ``finish`` does."""
        if not results:
            return
        now = datetime.now(UTC)
        with self.db.session() as s:
            for job_id, result in results:
                values = {"status": JobStatus.SUCCEEDED, "error": None, "finished_at": now}
                if _end(s, job_id, values | {"percent": 100.0, "result": result}):
                    self._count_child(s, job_id, failed=False)

    def cancel(self, job_id: str) -> None:
        """Cancel a job that has not finished."""
        with self.db.session() as s:
            if s.get(JobRow, job_id) is None:
                raise NotFound(f"job {job_id!r} not found")
            ended = s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.status.not_in(_TERMINAL_VALUES))
                .values(status=JobStatus.CANCELLED, finished_at=datetime.now(UTC))
            )
            if rowcount(ended):
                self._count_child(s, job_id, failed=True)

    def create_batch(
        self,
        kind: str,
        *,
        total: int,
        created_by: str | None = None,
        job_id: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> str:
        """A running batch job for ``total`` items; create each accepted item's
        job with ``params[PARENT_KEY]`` set to the returned id, then call
        ``submitted``. ``job_id`` names it (a client's import id)."""
        job_id = job_id or uuid.uuid4().hex
        progress = BatchProgress(total=total)
        with self.db.session() as s:
            s.add(
                JobRow(
                    id=job_id,
                    kind=kind,
                    status=JobStatus.RUNNING,
                    started_at=datetime.now(UTC),
                    params={"total": total} | (params or {}),
                    result=progress.to_result(),
                    percent=progress.percent,
                    message=progress.message,
                    created_by=created_by,
                )
            )
        return job_id

    def submitted(
        self, job_id: str, *, accepted: int, rejected: int, total: int | None = None
    ) -> None:
        """Every item of a batch was submitted: ``accepted`` of them became child
        jobs, ``rejected`` were refused (``total``: when only known now, as in a
        streamed import). The batch succeeds at once if no child is left running."""
        with self.db.session() as s:
            row = _locked(s, job_id)
            if row is None:
                raise NotFound(f"job {job_id!r} not found")
            progress = BatchProgress.from_result(row.result)
            if total is not None:
                progress = replace(progress, total=total)
            _store_progress(row, progress.submitted(accepted=accepted, rejected=rejected))

    def received(self, job_id: str, *, added: int) -> None:
        """A streamed batch received ``added`` more items (its percent and
        message count them while it is still submitting)."""
        with self.db.session() as s:
            row = _locked(s, job_id)
            if row is None or row.status in TERMINAL:
                return
            progress = BatchProgress.from_result(row.result)
            _store_progress(row, replace(progress, total=progress.total + added))

    @staticmethod
    def _count_child(s: Session, job_id: str, *, failed: bool) -> None:
        # In the transaction that ended the child: the child ends and is
        # counted together, or neither happens.
        params = s.scalar(select(JobRow.params).where(JobRow.id == job_id)) or {}
        parent_id = params.get(PARENT_KEY)
        if not parent_id:
            return
        parent = _locked(s, str(parent_id))
        if parent is None or parent.status in TERMINAL:
            return
        progress = BatchProgress.from_result(parent.result)
        _store_progress(parent, progress.child_done(failed=failed))

    def list(
        self, *, kind: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Recent jobs, newest first."""
        with self.db.session() as s:
            q = select(JobRow).order_by(JobRow.created_at.desc()).limit(limit)
            if kind:
                q = q.where(JobRow.kind == kind)
            if status:
                q = q.where(JobRow.status == status)
            return [job_view(r) for r in s.scalars(q)]
