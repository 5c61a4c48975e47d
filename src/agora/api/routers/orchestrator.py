"""Orchestrator (seed 003): queue state and recent tasks.

Example:
    >>> client.get("/api/v1/orchestrator/status").json()["counts"]["queued"]  # doctest: +SKIP
    0
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from agora.api.deps import PlatformDep, Reader
from agora.api.schemas.pipelines import OrchestratorStatus, TaskList
from agora.storage.jobs import JobStatus

router = APIRouter(prefix="/orchestrator", tags=["orchestrator"])


@router.get("/status", response_model=OrchestratorStatus)
def orchestrator_status(platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Task counts by status and the installed tasks."""
    return platform.orchestrator().status()


@router.get("/tasks", response_model=TaskList)
def orchestrator_tasks(
    platform: PlatformDep,
    _: Reader,
    status: Annotated[JobStatus | None, Query(description="Only tasks in this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Recent tasks, newest first."""
    return {
        "tasks": platform.orchestrator().tasks(status=status.value if status else None, limit=limit)
    }
