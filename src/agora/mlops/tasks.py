"""Named tasks: what the orchestrator runs and the scheduler schedules.

A task is a plain function found by import path (``module:function``), so
capabilities wire theirs in as they land and nobody imports a module that is
not installed: a task whose module is absent is *unavailable* (listed, logged
and skipped by the scheduler, a 409 from the API), never a crash.

A task function takes the platform first; it may also take ``ctx`` (a
``TaskContext`` for progress and cancellation) and keyword parameters. It
returns a JSON-able dict (or None), stored as the job's result.

Example:
    >>> reg = TaskRegistry({"hello": "json:dumps", "gone": "no_such_module:run"})
    >>> reg.available("hello"), reg.available("gone")
    (True, False)
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agora.errors import AgoraError, Conflict, InvalidInput, NotFound

if TYPE_CHECKING:
    from agora.storage.jobs import JobStore

log = logging.getLogger("agora.mlops.tasks")

# Built-in task names and their import paths. The MLOps ones live here; the
# others are the capabilities' own plain functions, wired by path.
DEFAULT_TASKS: dict[str, str] = {
    "train.ctr": "agora.mlops.training.tasks:train_ctr",
    "train.cvr": "agora.mlops.training.tasks:train_cvr",
    "train.ranker": "agora.mlops.training.tasks:train_ranker",
    "train.recommender": "agora.mlops.training.tasks:train_recommender",
    "train.tagger": "agora.tagging.tasks:train",
    "train.classifier": "agora.mlops.training.tasks:train_classifier",
    "train.anomaly": "agora.quality.risk.tasks:train_anomaly_task",
    "train.condition": "agora.mlops.training.tasks:train_condition",
    "train.code_review": "agora.codereview.tasks:train",
    "train.language": "agora.mlops.training.tasks:train_language",
    "drift_check": "agora.mlops.monitoring.tasks:drift_check",
    "trigger_check": "agora.mlops.monitoring.tasks:trigger_check",
    "canary_check": "agora.mlops.monitoring.tasks:canary_check",
    "alert_check": "agora.mlops.monitoring.tasks:alert_check",
    "cache_warm": "agora.recommend.tasks:warm_cache",
    "recommend_precompute": "agora.recommend.tasks:precompute",
    "trending": "agora.recommend.tasks:update_trending",
    "tagging_retrain": "agora.tagging.tasks:retrain_if_due",
    "ekyc_retention": "agora.identity.tasks:purge_expired",
}


class TaskCancelled(AgoraError):
    """Raised inside a task when its job was cancelled."""

    status = 409


class TaskContext:
    """Progress and cancellation for one running task (backed by its job)."""

    def __init__(self, jobs: JobStore | None = None, job_id: str | None = None) -> None:
        self.jobs = jobs
        self.job_id = job_id

    def progress(self, percent: float, message: str | None = None) -> None:
        """Report progress; raises ``TaskCancelled`` if the job was cancelled meanwhile."""
        self.check_cancelled()
        if self.jobs is not None and self.job_id is not None:
            self.jobs.progress(self.job_id, percent, message)
        log.info("task %s: %.0f%% %s", self.job_id or "-", percent, message or "")

    def cancelled(self) -> bool:
        if self.jobs is None or self.job_id is None:
            return False
        return bool(self.jobs.get(self.job_id)["status"] == "cancelled")

    def check_cancelled(self) -> None:
        if self.cancelled():
            raise TaskCancelled(f"job {self.job_id} was cancelled")


@dataclass(frozen=True)
class TaskInfo:
    name: str
    path: str
    available: bool

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "available": self.available}


def _module_present(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package
        return False


class TaskRegistry:
    """Task name -> import path, resolved lazily."""

    def __init__(self, paths: Mapping[str, str] | None = None) -> None:
        self.paths = dict(DEFAULT_TASKS if paths is None else paths)

    @classmethod
    def from_settings(cls, overrides: Mapping[str, str]) -> TaskRegistry:
        return cls({**DEFAULT_TASKS, **overrides})

    def names(self) -> list[str]:
        return sorted(self.paths)

    def available(self, name: str) -> bool:
        path = self.paths.get(name)
        if path is None:
            return False
        module, _, attr = path.partition(":")
        if not _module_present(module):
            return False
        try:
            return callable(getattr(importlib.import_module(module), attr, None))
        except ImportError:
            return False

    def infos(self) -> list[TaskInfo]:
        return [TaskInfo(n, self.paths[n], self.available(n)) for n in self.names()]

    def resolve(self, name: str) -> Callable[..., Any]:
        """The task function; ``NotFound`` for unknown names, ``Conflict`` if not installed."""
        path = self.paths.get(name)
        if path is None:
            raise NotFound(f"unknown task {name!r}; known: {', '.join(self.names())}")
        if not self.available(name):
            raise Conflict(f"task {name!r} is not installed here ({path} is absent)")
        module, _, attr = path.partition(":")
        fn: Callable[..., Any] = getattr(importlib.import_module(module), attr)
        return fn


def call_task(
    fn: Callable[..., Any], target: object, ctx: TaskContext, params: Mapping[str, Any]
) -> dict[str, Any]:
    """Call a task with ``target`` (what task functions receive first: the platform)
    and what its signature asks for; wrap a non-dict result."""
    sig = inspect.signature(fn)
    kwargs = dict(params)
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    if "ctx" in sig.parameters:
        kwargs["ctx"] = ctx
    elif "progress" in sig.parameters:
        kwargs["progress"] = ctx.progress
    if not accepts_any:
        unknown = set(kwargs) - set(sig.parameters)
        if unknown:
            raise InvalidInput(f"task does not take parameters {sorted(unknown)}")
    result = fn(target, **kwargs)
    if result is None:
        return {}
    if isinstance(result, dict):
        return result
    return {
        "result": result if isinstance(result, int | float | str | bool | list) else repr(result)
    }
