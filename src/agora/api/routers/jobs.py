"""Job status with percent (pipeline runs, imports, training)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from agora.api.deps import PlatformDep, Reader
from agora.storage.jobs import JobStatus

router = APIRouter(tags=["jobs"])


@router.get("/jobs/{job_id}")
def get_job(job_id: str, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """One job: status, percent, message, result or error."""
    return platform.jobs.get(job_id)


@router.get("/jobs")
def list_jobs(
    platform: PlatformDep,
    _: Reader,
    kind: str | None = None,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Recent jobs, newest first."""
    items = platform.jobs.list(kind=kind, status=status.value if status else None, limit=limit)
    return {"items": items}
