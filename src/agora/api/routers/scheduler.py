"""Scheduler (seed 003): persisted cron-like jobs; list, add, pause, resume, delete.

Example:
    >>> client.post("/api/v1/scheduler/jobs/cache_warm/pause").json()["paused"]  # doctest: +SKIP
    True
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from agora.api.deps import Admin, PlatformDep, Reader
from agora.api.schemas.pipelines import (
    ScheduledJob,
    ScheduledJobDeleted,
    ScheduledJobList,
    ScheduleRequest,
)
from agora.mlops.scheduler import Scheduler
from agora.runtime import Platform

router = APIRouter(prefix="/scheduler", tags=["scheduler"])
JobId = Annotated[str, Path(max_length=64, description="The scheduled job's id.")]


def scheduler_of(platform: Platform) -> Scheduler[Platform]:
    """The platform's scheduler, with its default jobs created once."""
    scheduler = platform.scheduler()
    scheduler.ensure_defaults()
    return scheduler


def _add(body: ScheduleRequest, platform: Platform) -> dict[str, Any]:
    return scheduler_of(platform).add(
        body.id, body.task, body.schedule, params=body.params, priority=body.priority
    )


@router.get("/jobs", response_model=ScheduledJobList)
def list_jobs(platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Every scheduled job: task, schedule, paused, next and last run."""
    return {"jobs": scheduler_of(platform).jobs()}


@router.post("/jobs", status_code=201, response_model=ScheduledJob)
def add_job(body: ScheduleRequest, platform: PlatformDep, _: Admin) -> dict[str, Any]:
    """Schedule a task on a cron expression or an interval; 409 when the id is taken,
    404 for an unknown task, 422 for a schedule that does not parse."""
    return _add(body, platform)


@router.post("/schedule", status_code=201, response_model=ScheduledJob)
def schedule(body: ScheduleRequest, platform: PlatformDep, _: Admin) -> dict[str, Any]:
    """Seed 003's name for adding a job (same body as ``POST /scheduler/jobs``)."""
    return _add(body, platform)


@router.get("/jobs/{job_id}", response_model=ScheduledJob)
def get_job(job_id: JobId, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """One scheduled job."""
    return scheduler_of(platform).get(job_id)


@router.post("/jobs/{job_id}/pause", response_model=ScheduledJob)
def pause_job(job_id: JobId, platform: PlatformDep, _: Admin) -> dict[str, Any]:
    """Stop submitting the job until it is resumed."""
    return scheduler_of(platform).pause(job_id)


@router.post("/jobs/{job_id}/resume", response_model=ScheduledJob)
def resume_job(job_id: JobId, platform: PlatformDep, _: Admin) -> dict[str, Any]:
    """Resume; the next run is computed from now (missed runs are not replayed)."""
    return scheduler_of(platform).resume(job_id)


@router.delete("/jobs/{job_id}", response_model=ScheduledJobDeleted)
def delete_job(job_id: JobId, platform: PlatformDep, _: Admin) -> dict[str, Any]:
    """Delete the job; a deleted default job stays deleted (it is not re-created)."""
    return scheduler_of(platform).delete(job_id)
