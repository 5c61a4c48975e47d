"""Orchestrator (seed 003): queue state, recent tasks, and a graceful shutdown.

Example:
    >>> client.get("/api/v1/orchestrator/status").json()["counts"]["queued"]  # doctest: +SKIP
    0
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from starlette.concurrency import run_in_threadpool

from agora.api.deps import Admin, PlatformDep, Reader
from agora.api.schemas.pipelines import (
    OrchestratorStatus,
    ShutdownRequest,
    ShutdownResult,
    TaskList,
)
from agora.mlops.seed_names import task_name
from agora.storage.jobs import JobStatus

router = APIRouter(prefix="/orchestrator", tags=["orchestrator"])
_OPTIONAL = Body(None)  # an empty request is the model's defaults (documented as the model)


@router.get("/status", response_model=OrchestratorStatus)
def orchestrator_status(platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Task counts by status, whether this process takes tasks, and the installed tasks."""
    return platform.orchestrator().status()


@router.get("/tasks", response_model=TaskList)
def orchestrator_tasks(
    platform: PlatformDep,
    _: Reader,
    status: Annotated[JobStatus | None, Query(description="Only tasks in this status.")] = None,
    task_type: Annotated[
        str | None,
        Query(
            alias="type",
            max_length=128,
            description="Only tasks of this type: a task name (`cache_warm`) or seed 003's "
            "pipeline type (`cache-warm`, `recommendation-precompute`); 422 for another.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Recent tasks, newest first."""
    tasks = platform.orchestrator().tasks(
        status=status.value if status else None,
        name=task_name(task_type) if task_type else None,
        limit=limit,
    )
    return {"tasks": tasks}


@router.post("/shutdown", response_model=ShutdownResult)
async def orchestrator_shutdown(
    platform: PlatformDep, _: Admin, body: ShutdownRequest = _OPTIONAL
) -> dict[str, Any]:
    """Drain this process's orchestrator: new tasks are refused (409) from now on,
    and the answer comes once the tasks running here have ended (or at
    ``timeout_s``, with ``status: timeout``). Queued tasks stay queued; the
    process takes tasks again when it restarts."""
    body = body or ShutdownRequest()
    return await run_in_threadpool(platform.orchestrator().shutdown, body.timeout_s)
