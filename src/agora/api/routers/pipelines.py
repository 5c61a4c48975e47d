"""Pipelines (seed 003): submit a named task with a priority, follow it, cancel it.

Tasks are the foundation's jobs; ``percent`` and ``message`` come from the
task's own progress reports.

Example:
    >>> r = client.post("/api/v1/pipelines/train.ctr", json={"priority": 8})  # doctest: +SKIP
    >>> client.get(f"/api/v1/pipelines/{r.json()['task_id']}").json()["percent"]  # doctest: +SKIP
    45.0
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from agora.api.bodies import read_json_object
from agora.api.deps import Admin, PlatformDep, Reader
from agora.errors import InvalidInput
from agora.mlops.orchestrator import KIND_PREFIX, Orchestrator

router = APIRouter(tags=["pipelines"])


async def optional_object(request: Request) -> dict[str, Any]:
    """The JSON object body, or {} when the body is empty."""
    if not (await request.body()).strip():
        return {}
    return await read_json_object(request)


def _task_view(job: dict[str, Any]) -> dict[str, Any]:
    return {"task_id": job["id"], "name": str(job["kind"])[len(KIND_PREFIX) :], **job}


@router.get("/pipelines")
def list_pipelines(platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Every named task and whether it is installed here."""
    return {"pipelines": [t.to_dict() for t in Orchestrator(platform).registry.infos()]}


@router.post("/pipelines/{name}", status_code=202)
async def submit_pipeline(
    name: str, request: Request, platform: PlatformDep, principal: Admin
) -> JSONResponse:
    """Queue a task: body ``{"priority": 0-10 (higher first, default 5), "params": {...}}``."""
    body = await optional_object(request)
    unknown = set(body) - {"priority", "params"}
    if unknown:
        raise InvalidInput(f"unknown fields: {sorted(unknown)}")
    orchestrator = Orchestrator(platform)
    job_id = orchestrator.submit(
        name,
        body.get("params") or {},
        priority=body.get("priority", 5),
        created_by=f"key:{principal.key_id}",
    )
    return JSONResponse(_task_view(platform.jobs.get(job_id)), status_code=202)


def _task(platform: Any, task_id: str) -> dict[str, Any]:
    job = platform.jobs.get(task_id)
    if not str(job["kind"]).startswith(KIND_PREFIX):
        from agora.errors import NotFound

        raise NotFound(f"pipeline task {task_id!r} not found")
    return job


@router.get("/pipelines/{task_id}")
def get_pipeline(task_id: str, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Status, percent, message, result or error of one task."""
    return _task_view(_task(platform, task_id))


@router.post("/pipelines/{task_id}/cancel")
def cancel_pipeline(task_id: str, platform: PlatformDep, _: Admin) -> dict[str, Any]:
    """Cancel a queued or running task (a running one stops at its next progress report)."""
    _task(platform, task_id)
    return _task_view(Orchestrator(platform).cancel(task_id))
