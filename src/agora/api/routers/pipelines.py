"""Pipelines (seed 003): submit a named task with a priority, follow it, cancel it.

Tasks are the foundation's jobs; ``percent`` and ``message`` come from the
task's own progress reports.

Example:
    >>> r = client.post("/api/v1/pipelines/train.ctr", json={"priority": 8})  # doctest: +SKIP
    >>> client.get(f"/api/v1/pipelines/{r.json()['task_id']}").json()["percent"]  # doctest: +SKIP
    45.0
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path

from agora.api.deps import Admin, PlatformDep, Reader
from agora.api.schemas.pipelines import PipelineList, PipelineSubmit, PipelineTask

router = APIRouter(tags=["pipelines"])
_OPTIONAL = Body(None)  # an empty request is the model's defaults (documented as the model)
TaskName = Annotated[str, Path(max_length=128, description="A task name, e.g. `train.ctr`.")]
TaskId = Annotated[str, Path(max_length=64, description="The `task_id` `POST` answered.")]


@router.get("/pipelines", response_model=PipelineList)
def list_pipelines(platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Every named task and whether it is installed here."""
    return {"pipelines": [t.to_dict() for t in platform.orchestrator().registry.infos()]}


@router.post("/pipelines/{name}", status_code=202, response_model=PipelineTask)
def submit_pipeline(
    name: TaskName, platform: PlatformDep, principal: Admin, body: PipelineSubmit = _OPTIONAL
) -> dict[str, Any]:
    """Queue a task (404 for an unknown name, 409 when it is not installed here); tasks
    run by priority (higher first), then oldest first."""
    body = body or PipelineSubmit()
    orchestrator = platform.orchestrator()
    job_id = orchestrator.submit(
        name, body.params, priority=body.priority, created_by=f"key:{principal.key_id}"
    )
    return orchestrator.task(job_id)


@router.get("/pipelines/{task_id}", response_model=PipelineTask)
def get_pipeline(task_id: TaskId, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Status, percent, message, result or error of one task."""
    return platform.orchestrator().task(task_id)


@router.post("/pipelines/{task_id}/cancel", response_model=PipelineTask)
def cancel_pipeline(task_id: TaskId, platform: PlatformDep, _: Admin) -> dict[str, Any]:
    """Cancel a queued or running task (a running one stops at its next progress report)."""
    return platform.orchestrator().cancel(task_id)
