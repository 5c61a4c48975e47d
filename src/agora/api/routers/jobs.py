"""Job status with percent (pipeline runs, imports, training)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from agora.api.deps import PlatformDep, Reader
from agora.api.schemas.jobs import Job, JobList, JobStatus

router = APIRouter(tags=["jobs"])


@router.get("/jobs/{job_id}", response_model=Job)
def get_job(
    job_id: Annotated[str, Path(min_length=1, max_length=64)], platform: PlatformDep, _: Reader
) -> dict[str, Any]:
    """One job: status, percent, message, result or error. Poll it until
    `status` is `succeeded`, `failed` or `cancelled`; an `import` job's
    `result` counts the import's lines and processed assets."""
    return platform.jobs.get(job_id)


@router.get("/jobs", response_model=JobList)
def list_jobs(
    platform: PlatformDep,
    _: Reader,
    kind: Annotated[
        str | None, Query(max_length=64, description="pipeline, import, train...")
    ] = None,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Recent jobs, newest first."""
    items = platform.jobs.list(kind=kind, status=status.value if status else None, limit=limit)
    return {"items": items}
