"""Job status with percent (pipeline runs, imports, training)."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from agora.api.deps import PlatformDep, Reader
from agora.api.schemas.jobs import Job, JobList, JobStatus

router = APIRouter(tags=["jobs"])
MAX_WAIT_S = 60.0
POLL_S = 0.2  # a job store read every 200 ms: cheap, and well under a step's duration


@router.get("/jobs/{job_id}", response_model=Job)
async def get_job(
    job_id: Annotated[str, Path(min_length=1, max_length=64)],
    platform: PlatformDep,
    _: Reader,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=MAX_WAIT_S,
            description="Seconds to wait for the job to end before answering (long poll).",
        ),
    ] = 0,
) -> dict[str, Any]:
    """One job: status, percent, message, result or error. Poll it until
    `status` is `succeeded`, `failed` or `cancelled`, or pass `wait` to have
    the answer held until then (at most `wait` seconds); an `import` job's
    `result` counts the import's lines and processed assets."""
    deadline = time.monotonic() + wait
    while True:
        job = await run_in_threadpool(platform.jobs.get, job_id)
        if JobStatus(job["status"]).ended or time.monotonic() >= deadline:
            return job
        await asyncio.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))


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
