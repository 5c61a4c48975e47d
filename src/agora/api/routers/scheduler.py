"""Scheduler (seed 003): persisted cron-like jobs; list, add, pause, resume, delete.

Example:
    >>> client.post("/api/v1/scheduler/jobs/cache_warm/pause").json()["paused"]  # doctest: +SKIP
    True
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from agora.api.bodies import read_json_object
from agora.api.deps import Admin, PlatformDep, Reader
from agora.errors import InvalidInput
from agora.mlops.orchestrator import Orchestrator
from agora.mlops.scheduler import Scheduler

router = APIRouter(prefix="/scheduler", tags=["scheduler"])


def _scheduler(platform: Any) -> Scheduler:
    scheduler = Scheduler(platform, Orchestrator(platform))
    scheduler.ensure_defaults()
    return scheduler


@router.get("/jobs")
def list_jobs(platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Every scheduled job: task, schedule, paused, next and last run."""
    return {"jobs": _scheduler(platform).jobs()}


async def _add(request: Request, platform: Any) -> JSONResponse:
    body = await read_json_object(request)
    unknown = set(body) - {"id", "task", "schedule", "params", "priority"}
    if unknown:
        raise InvalidInput(f"unknown fields: {sorted(unknown)}")
    for key in ("id", "task", "schedule"):
        if not isinstance(body.get(key), str):
            raise InvalidInput(f"{key!r} is required and must be a string")
    params = body.get("params") or {}
    priority = body.get("priority", 5)
    if not isinstance(params, dict):
        raise InvalidInput("params must be an object")
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise InvalidInput("priority must be an integer")
    job = _scheduler(platform).add(
        body["id"], body["task"], body["schedule"], params=params, priority=priority
    )
    return JSONResponse(job, status_code=201)


@router.post("/jobs", status_code=201)
async def add_job(request: Request, platform: PlatformDep, _: Admin) -> JSONResponse:
    """Schedule a task: ``{"id", "task", "schedule": "*/30 * * * *" | "every 2h", ...}``."""
    return await _add(request, platform)


@router.post("/schedule", status_code=201)
async def schedule(request: Request, platform: PlatformDep, _: Admin) -> JSONResponse:
    """Seed 003's name for adding a job (same body as ``POST /scheduler/jobs``)."""
    return await _add(request, platform)


@router.get("/jobs/{job_id}")
def get_job(job_id: str, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    return _scheduler(platform).get(job_id)


@router.post("/jobs/{job_id}/pause")
def pause_job(job_id: str, platform: PlatformDep, _: Admin) -> dict[str, Any]:
    return _scheduler(platform).pause(job_id)


@router.post("/jobs/{job_id}/resume")
def resume_job(job_id: str, platform: PlatformDep, _: Admin) -> dict[str, Any]:
    return _scheduler(platform).resume(job_id)


@router.delete("/jobs/{job_id}")
def delete_job(job_id: str, platform: PlatformDep, _: Admin) -> dict[str, Any]:
    return _scheduler(platform).delete(job_id)
