"""Pipelines, the orchestrator's task queue and the scheduler."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from agora.api.schemas.common import JSONObject, RequestModel, ResponseModel, UtcDatetime

TaskStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
Priority = Annotated[int, Field(ge=0, le=10, description="0-10; higher runs first.")]


class TaskInfo(ResponseModel):
    """A named task and whether its module is installed here."""

    name: str = Field(description="e.g. `train.ctr`, `drift_check`.")
    path: str = Field(description="`module:function` that runs it.")
    available: bool = Field(description="False when its optional extra is not installed.")


class PipelineList(ResponseModel):
    """Every named task."""

    pipelines: list[TaskInfo]


class PipelineSubmit(RequestModel):
    """``POST /pipelines/{name}`` body (optional)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"priority": 8, "params": {"days": 14}}]}
    )
    priority: Priority = 5
    params: JSONObject = Field(
        default_factory=dict, description="Keyword arguments of the task function."
    )


class Task(ResponseModel):
    """One orchestrated task (a job of kind `task:<name>`) with its progress."""

    id: str
    kind: str = Field(description="`task:<name>`.")
    subject_id: str | None
    status: TaskStatus
    percent: float = Field(description="0-100, from the task's own progress reports.")
    message: str | None
    priority: int
    params: JSONObject
    result: JSONObject | None = Field(description="What the task returned, once succeeded.")
    error: str | None
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None


class PipelineTask(Task):
    """A submitted pipeline task."""

    task_id: str = Field(description="The same as `id`.")
    name: str = Field(description="The task's name, e.g. `train.ctr`.")
    progress: float = Field(description="0-100: the same as `percent` (seed 003's name).")


class TaskCounts(ResponseModel):
    """Tasks by status."""

    queued: int
    running: int
    succeeded: int
    failed: int
    cancelled: int


class OrchestratorStatus(ResponseModel):
    """Queue state, this process's runners and the installed tasks."""

    accepting_tasks: bool = Field(
        description="False after `POST /orchestrator/shutdown`, until the process restarts."
    )
    running_in_this_process: list[str] = Field(description="Task ids this process runs now.")
    runner_threads: int
    concurrency: int
    counts: TaskCounts
    active: int = Field(description="Queued plus running.")
    tasks: list[TaskInfo]
    terminal_statuses: list[TaskStatus]


class TaskList(ResponseModel):
    """Recent tasks, newest first."""

    tasks: list[Task]


JobId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]


class ScheduleRequest(RequestModel):
    """``POST /scheduler/jobs`` body."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "nightly-ctr",
                    "task": "train.ctr",
                    "schedule": "0 3 * * *",
                    "params": {"days": 14},
                    "priority": 6,
                }
            ]
        }
    )
    id: JobId = Field(description="Letters, digits, `_`, `-`, `.` (at most 64).")
    task: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="A task name from `GET /pipelines`."
    )
    schedule: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="A cron expression (`*/30 * * * *`) or an interval (`every 2h`, `every 90s`)."
    )
    params: JSONObject = Field(default_factory=dict)
    priority: Priority = 5


class ScheduledJob(ResponseModel):
    """A persisted periodic job."""

    id: str
    task: str
    schedule: str
    params: JSONObject
    priority: int
    paused: bool
    available: bool = Field(description="Whether its task is installed here.")
    next_run_at: UtcDatetime
    last_run_at: UtcDatetime | None
    last_job_id: str | None
    last_status: str | None = Field(description="`submitted` or why the run was skipped.")


class ScheduledJobList(ResponseModel):
    """Every scheduled job, by id."""

    jobs: list[ScheduledJob]


class ScheduledJobDeleted(ResponseModel):
    """A deleted job (it stays deleted: a default job is not re-created)."""

    id: str
    deleted: bool


class ShutdownRequest(RequestModel):
    """``POST /orchestrator/shutdown`` body (optional)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"timeout_s": 30}]})
    timeout_s: float = Field(
        default=300.0, ge=0, le=3600, description="How long to wait for running tasks to end."
    )


class ShutdownResult(ResponseModel):
    """A drained (or timed-out) shutdown of this process's orchestrator."""

    status: Literal["drained", "timeout"]
    drained: bool = Field(description="Every task this process ran has ended.")
    accepting_tasks: bool = Field(description="False: new tasks answer 409 until a restart.")
    still_running: list[str] = Field(description="Task ids still running at the timeout.")
    waited_s: float
