# Generated from agora/client/_async by scripts/gen-sync-client: do not edit.
"""Models (registry, deployment, canary, drift), alerts, pipelines, scheduler,
orchestrator, feature store and overrides."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from agora.api.schemas.ai_pipelines import (
    CacheWarmRequest,
    PrecomputeRequest,
    SeedScheduleRequest,
    TaskSubmitted,
)
from agora.api.schemas.alerts import Alert, AlertAck, AlertPage, DriftHistory
from agora.api.schemas.features import EntityFeatures, FeatureReadRequest, FeatureRows, FeatureViews
from agora.api.schemas.models import (
    CanaryVerdict,
    ChallengerRequest,
    Deployment,
    ModelDrift,
    ModelList,
    ModelServing,
    ModelVersion,
    PromoteRequest,
    PromotionHistory,
    ReasonRequest,
    RegisteredModel,
)
from agora.api.schemas.overrides import Override, OverrideCreate, OverrideDeleted, OverrideList
from agora.api.schemas.pipelines import (
    OrchestratorStatus,
    PipelineList,
    PipelineSubmit,
    PipelineTask,
    ScheduledJob,
    ScheduledJobDeleted,
    ScheduledJobList,
    ScheduleRequest,
    ShutdownRequest,
    ShutdownResult,
    TaskList,
)
from agora.client._sync.base import Resource, body
from agora.client.call import Call


class Alerts(Resource):
    """``/alerts``: what the scheduled checks raised, and acknowledging it."""

    def page(
        self,
        *,
        kind: str | None = None,
        severity: str | None = None,
        subject: str | None = None,
        state: str = "all",
        acknowledged: bool | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> AlertPage:
        """One page of alerts, newest first."""
        params = {
            "kind": kind,
            "severity": severity,
            "subject": subject,
            "state": state,
            "acknowledged": acknowledged,
            "limit": limit,
            "cursor": cursor,
        }
        return self._call(Call("GET", "alerts", AlertPage, params=params))

    def iterate(self, *, page_size: int = 500, **filters: Any) -> Iterator[Alert]:
        """Every alert matching ``filters`` (those of ``page``), newest first."""
        cursor: str | None = None
        while True:
            page = self.page(limit=page_size, cursor=cursor, **filters)
            for alert in page.items:
                yield alert
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def get(self, alert_id: int) -> Alert:
        """One alert."""
        return self._call(Call("GET", f"alerts/{alert_id}", Alert))

    def acknowledge(self, alert_id: int, *, note: str = "") -> Alert:
        """Acknowledge an alert (audited with this client's key)."""
        payload = body(AlertAck, {"note": note})
        return self._call(Call("POST", f"alerts/{alert_id}/ack", Alert, json=payload))


class Models(Resource):
    """``/models``: the registry and the champion/challenger workflow."""

    def all(self) -> ModelList:
        """Every registered model with its versions and aliases."""
        return self._call(Call("GET", "models", ModelList))

    def get(self, name: str) -> RegisteredModel:
        """One model."""
        return self._call(Call("GET", f"models/{name}", RegisteredModel))

    def version(self, name: str, version: str | int) -> ModelVersion:
        """One version: params, metrics, data snapshot, features."""
        return self._call(Call("GET", f"models/{name}/versions/{version}", ModelVersion))

    def deployment(self, name: str) -> Deployment:
        """Champion, challenger, canary share."""
        return self._call(Call("GET", f"models/{name}/deployment", Deployment))

    def history(self, name: str, *, limit: int = 1000) -> PromotionHistory:
        """Who promoted what, when and why (oldest first)."""
        params = {"limit": limit}
        return self._call(Call("GET", f"models/{name}/history", PromotionHistory, params=params))

    def serving(self, name: str, *, user_id: str | None = None) -> ModelServing:
        """The version that serves (for ``user_id``: the canary's choice for them)."""
        params = {"user_id": user_id}
        return self._call(Call("GET", f"models/{name}/serving", ModelServing, params=params))

    def canary(self, name: str) -> CanaryVerdict:
        """The canary's figures and the judge's verdict so far."""
        return self._call(Call("GET", f"models/{name}/canary", CanaryVerdict))

    def drift(self, name: str) -> ModelDrift:
        """PSI and KS per feature of the served version (or why none was measured)."""
        return self._call(Call("GET", f"models/{name}/drift", ModelDrift))

    def drift_history(
        self, name: str, *, limit: int = 50, since: datetime | None = None
    ) -> DriftHistory:
        """PSI and KS per feature at each stored drift check, oldest first."""
        params = {"limit": limit, "since": since.isoformat() if since else None}
        return self._call(Call("GET", f"models/{name}/drift/history", DriftHistory, params=params))

    def promote(
        self, name: str, *, version: str | int | None = None, reason: str = ""
    ) -> Deployment:
        """Make ``version`` (default: the challenger) the champion."""
        payload = body(PromoteRequest, {"version": version, "reason": reason})
        return self._call(Call("POST", f"models/{name}/promote", Deployment, json=payload))

    def rollback(self, name: str, *, reason: str = "") -> Deployment:
        """Restore the previous champion."""
        payload = body(ReasonRequest, {"reason": reason})
        return self._call(Call("POST", f"models/{name}/rollback", Deployment, json=payload))

    def challenge(
        self,
        name: str,
        version: str | int,
        *,
        reason: str = "",
        canary_share: float | None = None,
    ) -> Deployment:
        """Start a canary of ``version`` against the champion."""
        payload = body(
            ChallengerRequest,
            {"version": version, "reason": reason, "canary_share": canary_share},
        )
        return self._call(Call("POST", f"models/{name}/challenger", Deployment, json=payload))

    def abort_canary(self, name: str, *, reason: str = "") -> Deployment:
        """Stop the canary; the champion serves everyone."""
        payload = body(ReasonRequest, {"reason": reason})
        return self._call(Call("POST", f"models/{name}/canary/abort", Deployment, json=payload))


class Pipelines(Resource):
    """``/pipelines``: training and batch tasks."""

    def all(self) -> PipelineList:
        """Every task that can be submitted."""
        return self._call(Call("GET", "pipelines", PipelineList))

    def submit(
        self, name: str, *, priority: int = 5, params: Mapping[str, Any] | None = None
    ) -> PipelineTask:
        """Queue task ``name`` (e.g. ``train.ctr``); follow it with ``get``."""
        payload = body(PipelineSubmit, {"priority": priority, "params": dict(params or {})})
        return self._call(Call("POST", f"pipelines/{name}", PipelineTask, json=payload))

    def get(self, task_id: str) -> PipelineTask:
        """A submitted task with its progress."""
        return self._call(Call("GET", f"pipelines/{task_id}", PipelineTask))

    def cancel(self, task_id: str) -> PipelineTask:
        """Cancel a queued or running task (``ConflictError`` once it has ended)."""
        return self._call(Call("POST", f"pipelines/{task_id}/cancel", PipelineTask))

    def recommendation_precompute(
        self,
        *,
        user_ids: Iterable[str] | None = None,
        algorithms: Iterable[str] | None = None,
        limit: int | None = None,
        priority: int = 5,
    ) -> TaskSubmitted:
        """Seed 003's precompute: candidate and served lists of ``algorithms`` for
        ``user_ids`` (default: the active users) into the recommendation cache."""
        fields: dict[str, Any] = {"priority": priority}
        if user_ids is not None:
            fields["user_ids"] = list(user_ids)
        if algorithms is not None:
            fields["algorithms"] = list(algorithms)
        if limit is not None:
            fields["limit"] = limit
        payload = body(PrecomputeRequest, fields)
        return self._call(
            Call(
                "POST",
                "ai-pipelines/pipelines/recommendation-precompute",
                TaskSubmitted,
                json=payload,
            )
        )

    def cache_warm(
        self,
        *,
        segments: Iterable[str] | None = None,
        algorithms: Iterable[str] | None = None,
        limit: int | None = None,
        priority: int = 5,
    ) -> TaskSubmitted:
        """Seed 003's cache warm: serve the lists of the active users (of ``segments``:
        ``new``, ``casual``, ``engaged``) once, so their next request is a cache hit."""
        fields: dict[str, Any] = {"priority": priority}
        if segments is not None:
            fields["segments"] = list(segments)
        if algorithms is not None:
            fields["algorithms"] = list(algorithms)
        if limit is not None:
            fields["limit"] = limit
        payload = body(CacheWarmRequest, fields)
        return self._call(
            Call("POST", "ai-pipelines/pipelines/cache-warm", TaskSubmitted, json=payload)
        )


class Scheduler(Resource):
    """``/scheduler``: persisted cron and interval jobs."""

    def jobs(self) -> ScheduledJobList:
        """Every scheduled job."""
        return self._call(Call("GET", "scheduler/jobs", ScheduledJobList))

    def add(self, job: ScheduleRequest | Mapping[str, Any]) -> ScheduledJob:
        """Add or replace a scheduled job."""
        return self._call(
            Call("POST", "scheduler/jobs", ScheduledJob, json=body(ScheduleRequest, job))
        )

    def get(self, job_id: str) -> ScheduledJob:
        """One scheduled job."""
        return self._call(Call("GET", f"scheduler/jobs/{job_id}", ScheduledJob))

    def pause(self, job_id: str) -> ScheduledJob:
        """Stop running it until resumed."""
        return self._call(Call("POST", f"scheduler/jobs/{job_id}/pause", ScheduledJob))

    def resume(self, job_id: str) -> ScheduledJob:
        """Run it on its schedule again."""
        return self._call(Call("POST", f"scheduler/jobs/{job_id}/resume", ScheduledJob))

    def delete(self, job_id: str) -> ScheduledJobDeleted:
        """Remove it."""
        return self._call(Call("DELETE", f"scheduler/jobs/{job_id}", ScheduledJobDeleted))

    def schedule(self, job: SeedScheduleRequest | Mapping[str, Any]) -> ScheduledJob:
        """Seed 003's form: ``{job_id, task, trigger: "interval"|"cron", minutes|hours|cron,
        args}`` (``task`` may be a seed name such as ``warm_cache``)."""
        payload = body(SeedScheduleRequest, job)
        return self._call(
            Call("POST", "ai-pipelines/scheduler/schedule", ScheduledJob, json=payload)
        )


class Orchestrator(Resource):
    """``/orchestrator``: the task queue every process shares."""

    def status(self) -> OrchestratorStatus:
        """Counts by status and the runners."""
        return self._call(Call("GET", "orchestrator/status", OrchestratorStatus))

    def tasks(
        self, *, status: str | None = None, task_type: str | None = None, limit: int = 100
    ) -> TaskList:
        """Recent tasks (of one ``status``, of one task type: ``cache_warm`` or ``cache-warm``)."""
        params = {"status": status, "type": task_type, "limit": limit}
        return self._call(Call("GET", "orchestrator/tasks", TaskList, params=params))

    def shutdown(self, *, timeout_s: float | None = None) -> ShutdownResult:
        """Drain the server process's orchestrator: it refuses new tasks and answers
        once its running tasks ended (keep ``timeout_s`` under the client's timeout)."""
        fields = {} if timeout_s is None else {"timeout_s": timeout_s}
        payload = body(ShutdownRequest, fields)
        return self._call(Call("POST", "orchestrator/shutdown", ShutdownResult, json=payload))


class Features(Resource):
    """``/features``: definitions and online reads."""

    def views(self) -> FeatureViews:
        """Every feature view and its features."""
        return self._call(Call("GET", "features", FeatureViews))

    def entity(
        self, entity: str, entity_id: str, *, features: Iterable[str] | None = None
    ) -> EntityFeatures:
        """One entity's online features."""
        params = {"features": ",".join(features) if features is not None else None}
        return self._call(
            Call("GET", f"features/{entity}/{entity_id}", EntityFeatures, params=params)
        )

    def read(
        self, entity: str, ids: Iterable[str], *, features: Iterable[str] | None = None
    ) -> FeatureRows:
        """Many ids of one entity in one call."""
        payload = body(
            FeatureReadRequest,
            {
                "entity": entity,
                "ids": list(ids),
                "features": list(features) if features is not None else None,
            },
        )
        return self._call(Call("POST", "features:read", FeatureRows, json=payload))


class Overrides(Resource):
    """``/overrides``: operator boosts, bans and pins with expiry (admin)."""

    def all(self, *, include_expired: bool = False) -> OverrideList:
        """Active overrides (``include_expired`` for all)."""
        params = {"include_expired": include_expired}
        return self._call(Call("GET", "overrides", OverrideList, params=params))

    def create(self, override: OverrideCreate | Mapping[str, Any]) -> Override:
        """Add an override."""
        return self._call(Call("POST", "overrides", Override, json=body(OverrideCreate, override)))

    def get(self, override_id: str) -> Override:
        """One override."""
        return self._call(Call("GET", f"overrides/{override_id}", Override))

    def delete(self, override_id: str) -> OverrideDeleted:
        """Remove an override."""
        return self._call(Call("DELETE", f"overrides/{override_id}", OverrideDeleted))
