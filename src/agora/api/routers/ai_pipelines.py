"""Seed 003's pipeline API under ``/ai-pipelines``: the same implementation as
Agora's own routes, under the seed's paths and bodies.

| seed route | Agora's route it shares |
|---|---|
| ``POST /recommendations`` | ``GET /recommendations/{user_id}`` (``limit`` is ``n``) |
| ``POST /recommendations/batch`` | ``POST /recommendations:batch`` |
| ``POST /pipelines/recommendation-precompute`` | task ``recommend_precompute`` |
| ``POST /pipelines/cache-warm`` | task ``cache_warm`` |
| ``GET /pipelines/{task_id}``, ``POST .../cancel`` | ``/pipelines/{task_id}`` |
| ``/orchestrator/status``, ``/tasks``, ``/shutdown`` | ``/orchestrator/...`` |
| ``POST /scheduler/schedule`` (seed trigger body) | ``POST /scheduler/jobs`` |
| ``/scheduler/jobs``, ``.../pause``, ``.../resume``, ``DELETE`` | ``/scheduler/jobs/...`` |

``POST /pipelines/batch-video-analysis`` belongs to video processing, which
Agora does not have yet; it is absent, not faked.

Example:
    >>> r = client.post("/api/v1/ai-pipelines/pipelines/cache-warm",
    ...                 json={"segments": ["engaged"]})  # doctest: +SKIP
    >>> client.get(f"/api/v1/ai-pipelines/pipelines/{r.json()['task_id']}").json()["progress"]
    ... # doctest: +SKIP
    100.0
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from agora.api.deps import Admin, PlatformDep, Reader
from agora.api.routers import orchestrator, pipelines, scheduler
from agora.api.routers.recommendations import ListRequest, serve_batch, serve_list
from agora.api.schemas.ai_pipelines import (
    CacheWarmRequest,
    PipelineRecommendBatch,
    PipelineRecommendRequest,
    PrecomputeRequest,
    SeedScheduleRequest,
    TaskSubmitted,
)
from agora.api.schemas.pipelines import (
    OrchestratorStatus,
    PipelineTask,
    ScheduledJob,
    ScheduledJobDeleted,
    ScheduledJobList,
    ShutdownResult,
    TaskList,
)
from agora.api.schemas.recommendations import BatchResults, RecommendationList
from agora.mlops.seed_names import schedule_of, task_name
from agora.recommend.warming import warm_algorithms
from agora.security.keys import Principal

router = APIRouter(prefix="/ai-pipelines", tags=["ai-pipelines"])


def _ask(r: PipelineRecommendRequest) -> ListRequest:
    return ListRequest(r.user_id, r.limit, r.algorithm, r.category, r.session_views)


@router.post("/recommendations", response_model=RecommendationList)
async def recommend(
    body: PipelineRecommendRequest, platform: PlatformDep, _: Reader
) -> dict[str, Any]:
    """Exactly what ``GET /recommendations/{user_id}`` answers for the same user,
    ``n`` (here ``limit``), algorithm, category and session views."""
    return await serve_list(platform.recommendations, _ask(body))


@router.post("/recommendations/batch", response_model=BatchResults)
async def recommend_batch(
    body: PipelineRecommendBatch, platform: PlatformDep, _: Reader
) -> dict[str, Any]:
    """Up to 100 lists, answered as ``POST /recommendations:batch`` answers."""
    return await serve_batch(platform.recommendations, [_ask(r) for r in body.requests])


def _submit(
    platform: PlatformDep, principal: Principal, name: str, params: dict[str, Any], priority: int
) -> dict[str, Any]:
    task_id = platform.orchestrator().submit(
        name, params, priority=priority, created_by=f"key:{principal.key_id}"
    )
    return {"task_id": task_id, "status": "queued"}


@router.post("/pipelines/recommendation-precompute", status_code=202, response_model=TaskSubmitted)
def precompute(body: PrecomputeRequest, platform: PlatformDep, principal: Admin) -> dict[str, Any]:
    """Queue task ``recommend_precompute``: candidate lists of ``algorithms`` for
    ``user_ids`` (default: the active users), then their served lists of ``limit``
    computed afresh into the recommendation cache. With neither, the scheduled job:
    every served model's candidate lists for the active users. 409 for a model not
    installed here, 422 for ``smart``."""
    params: dict[str, Any] = {"n": body.limit}
    if body.user_ids is not None:
        params["user_ids"] = body.user_ids
    if body.algorithms is not None:
        params["algorithms"] = warm_algorithms(body.algorithms)
    return _submit(platform, principal, "recommend_precompute", params, body.priority)


@router.post("/pipelines/cache-warm", status_code=202, response_model=TaskSubmitted)
def cache_warm(body: CacheWarmRequest, platform: PlatformDep, principal: Admin) -> dict[str, Any]:
    """Queue task ``cache_warm``: serve the lists of ``limit`` (``hybrid`` unless
    ``algorithms``) of the active users in ``segments`` once, through the
    recommendation cache; a list already cached and still valid is kept."""
    params: dict[str, Any] = {"n": body.limit, "algorithms": warm_algorithms(body.algorithms)}
    if body.segments is not None:
        params["segments"] = body.segments
    return _submit(platform, principal, "cache_warm", params, body.priority)


@router.post("/scheduler/schedule", status_code=201, response_model=ScheduledJob)
def schedule(body: SeedScheduleRequest, platform: PlatformDep, _: Admin) -> dict[str, Any]:
    """Seed 003's ``add_job``: ``trigger`` ``interval`` (``minutes`` or ``hours``) or
    ``cron``; ``task`` an Agora task or a seed name (``warm_cache``,
    ``precompute_recommendations``, ``update_trending``). 404 for an unknown task,
    409 for a taken id, 422 for a cron expression that does not parse."""
    every = schedule_of(body.trigger, minutes=body.minutes, hours=body.hours, cron=body.cron)
    return scheduler.scheduler_of(platform).add(
        body.job_id, task_name(body.task), every, params=body.args, priority=body.priority
    )


# The routes whose bodies the seed leaves to Agora: the very same endpoints.
_SHARED: list[tuple[str, str, Any, type, int]] = [
    ("GET", "/pipelines/{task_id}", pipelines.get_pipeline, PipelineTask, 200),
    ("POST", "/pipelines/{task_id}/cancel", pipelines.cancel_pipeline, PipelineTask, 200),
    ("GET", "/orchestrator/status", orchestrator.orchestrator_status, OrchestratorStatus, 200),
    ("GET", "/orchestrator/tasks", orchestrator.orchestrator_tasks, TaskList, 200),
    ("POST", "/orchestrator/shutdown", orchestrator.orchestrator_shutdown, ShutdownResult, 200),
    ("GET", "/scheduler/jobs", scheduler.list_jobs, ScheduledJobList, 200),
    ("POST", "/scheduler/jobs/{job_id}/pause", scheduler.pause_job, ScheduledJob, 200),
    ("POST", "/scheduler/jobs/{job_id}/resume", scheduler.resume_job, ScheduledJob, 200),
    ("DELETE", "/scheduler/jobs/{job_id}", scheduler.delete_job, ScheduledJobDeleted, 200),
]
for _method, _path, _endpoint, _model, _status in _SHARED:
    router.add_api_route(
        _path, _endpoint, methods=[_method], response_model=_model, status_code=_status
    )
