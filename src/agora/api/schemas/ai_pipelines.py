"""Seed 003's ``/ai-pipelines`` bodies; the answers are the shared routes' models."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import ConfigDict, Field, model_validator

from agora.api.schemas.common import JSONObject, RequestModel, ResponseModel
from agora.api.schemas.pipelines import JobId, Priority, TaskStatus
from agora.api.schemas.recommendations import (
    ALGORITHM_DOC,
    ALGORITHM_SCHEMA,
    MAX_BATCH,
    MAX_N,
    Algorithm,
    Category,
    Id,
)

Segment = Literal["new", "casual", "engaged"]
"""The bandit's activity segments: no events, fewer than 10, 10 or more."""
MAX_USERS = 10_000
"""The most users one precompute request may name."""


class PipelineRecommendRequest(RequestModel):
    """``POST /ai-pipelines/recommendations``: the parameters of
    ``GET /recommendations/{user_id}`` as a body (``limit`` is its ``n``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"user_id": "u-1", "limit": 10, "algorithm": "collaborative"}]
        }
    )
    user_id: Id
    limit: int = Field(default=10, ge=1, le=MAX_N, description="How many assets.")
    algorithm: Algorithm = Field(
        default="hybrid",
        description=f"Seed 003's default is `hybrid`. {ALGORITHM_DOC}",
        json_schema_extra=ALGORITHM_SCHEMA,
    )
    category: Category | None = Field(default=None, description="Only assets of this category.")
    session_views: list[Id] | None = Field(
        default=None,
        max_length=50,
        description="Assets viewed in this session; such lists are not cached.",
    )


class PipelineRecommendBatch(RequestModel):
    """``POST /ai-pipelines/recommendations/batch``: up to 100 lists, answered as
    ``POST /recommendations:batch`` answers."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "requests": [
                        {"user_id": "u-42", "limit": 10},
                        {"user_id": "u-7", "limit": 5, "algorithm": "collaborative"},
                    ]
                }
            ]
        }
    )
    requests: list[PipelineRecommendRequest] = Field(min_length=1, max_length=MAX_BATCH)


class PrecomputeRequest(RequestModel):
    """``POST /ai-pipelines/pipelines/recommendation-precompute`` body."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"user_ids": ["u-1", "u-2"], "algorithms": ["hybrid"], "priority": 7}]
        }
    )
    user_ids: list[Id] | None = Field(
        default=None, max_length=MAX_USERS, description="Default: the active users."
    )
    algorithms: list[Algorithm] | None = Field(
        default=None,
        min_length=1,
        max_length=16,
        description="Default: candidate lists of every served model (the scheduled job); "
        "with `user_ids`, `hybrid`. Not `smart` (a per-request bandit draw).",
    )
    limit: int = Field(default=10, ge=1, le=MAX_N, description="The served lists' length.")
    priority: Priority = 5


class CacheWarmRequest(RequestModel):
    """``POST /ai-pipelines/pipelines/cache-warm`` body."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"segments": ["engaged"], "priority": 6}]}
    )
    segments: list[Segment] | None = Field(
        default=None, min_length=1, description="Default: every active user's segment."
    )
    algorithms: list[Algorithm] | None = Field(
        default=None, min_length=1, max_length=16, description="Default: `hybrid`. Not `smart`."
    )
    limit: int = Field(default=10, ge=1, le=MAX_N, description="The lists' length.")
    priority: Priority = 5


class TaskSubmitted(ResponseModel):
    """A queued pipeline task; follow it with ``GET /ai-pipelines/pipelines/{task_id}``."""

    task_id: str
    status: TaskStatus


class SeedScheduleRequest(RequestModel):
    """``POST /ai-pipelines/scheduler/schedule``: seed 003's ``add_job`` arguments."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"job_id": "warm", "task": "warm_cache", "trigger": "interval", "minutes": 30},
                {"job_id": "nightly", "task": "train.ctr", "trigger": "cron", "cron": "0 3 * * *"},
            ]
        }
    )
    job_id: JobId = Field(description="Letters, digits, `_`, `-`, `.` (at most 64).")
    task: str = Field(
        min_length=1,
        max_length=128,
        description="A task from `GET /pipelines`, or seed 003's `warm_cache`, "
        "`precompute_recommendations`, `update_trending`.",
    )
    trigger: Literal["interval", "cron"]
    minutes: float | None = Field(default=None, gt=0, le=1_000_000)
    hours: float | None = Field(default=None, gt=0, le=100_000)
    cron: str | None = Field(default=None, min_length=1, max_length=128)
    args: JSONObject = Field(default_factory=dict, description="The task's keyword arguments.")
    priority: Priority = 5

    @model_validator(mode="after")
    def _fits_trigger(self) -> Self:
        if self.trigger == "interval" and (self.minutes is None) == (self.hours is None):
            raise ValueError("an interval trigger takes exactly one of minutes or hours")
        if self.trigger == "interval" and self.cron is not None:
            raise ValueError("an interval trigger takes no cron")
        if self.trigger == "cron" and (self.cron is None or self.minutes or self.hours):
            raise ValueError("a cron trigger takes cron (and no minutes or hours)")
        return self
