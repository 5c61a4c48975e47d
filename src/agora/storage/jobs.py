"""Job store: long tasks (pipeline runs, imports, training) with status and percent.

Example:
    >>> jobs = JobStore(db)  # doctest: +SKIP
    >>> job_id = jobs.create("pipeline", subject_id="asset-1")  # doctest: +SKIP
    >>> jobs.progress(job_id, 50.0, "integrity done")  # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from agora.errors import NotFound
from agora.storage.database import Database
from agora.storage.tables import JobRow


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


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
        with self.db.session() as s:
            row = s.get(JobRow, job_id)
            if row is None:
                return
            row.status = JobStatus.FAILED if error else JobStatus.SUCCEEDED
            row.percent = 100.0 if not error else row.percent
            row.result = result or row.result
            row.error = error
            row.finished_at = datetime.now(UTC)

    def cancel(self, job_id: str) -> None:
        """Cancel a job that has not finished."""
        with self.db.session() as s:
            row = s.get(JobRow, job_id)
            if row is None:
                raise NotFound(f"job {job_id!r} not found")
            if row.status not in TERMINAL:
                row.status = JobStatus.CANCELLED
                row.finished_at = datetime.now(UTC)

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
