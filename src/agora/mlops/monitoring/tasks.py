"""Task entry points of the monitoring checks (``DEFAULT_TASKS`` in ``agora.mlops.tasks``).

Each takes the platform, as every task does, builds the narrow dependencies
its check uses and runs it (``agora.mlops.checks``); the scheduler runs them
periodically, ``POST /api/v1/pipelines/{name}`` on demand.

Example:
    >>> trigger_check(platform)  # doctest: +SKIP
    {'models': [...], 'submitted': ['<job id>']}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agora.mlops.alert_rules import alert_on_platform_health
from agora.mlops.canary_judge import CanaryJudge
from agora.mlops.checks import (
    MIN_REQUESTS_FOR_RATE,
    alert_on_fallbacks,
    judge_canaries,
    measure_drift,
    submit_retraining,
)
from agora.mlops.triggers import RetrainTriggers

if TYPE_CHECKING:
    from agora.mlops.tasks import TaskContext
    from agora.runtime import Platform


def trigger_check(platform: Platform, ctx: TaskContext | None = None) -> dict[str, Any]:
    """Submit a retraining task for every model whose trigger fired."""
    triggers = RetrainTriggers(platform.drift_sources())
    return submit_retraining(triggers, platform.orchestrator(), ctx)


def drift_check(platform: Platform, ctx: TaskContext | None = None) -> dict[str, Any]:
    """Drift of every champion's inputs and score; gauges, history, HTML report, alert."""
    triggers = RetrainTriggers(platform.drift_sources())
    return measure_drift(
        triggers,
        platform.alerting.notifier,
        platform.settings.data_dir,
        history=platform.drift_history,
        alerts=platform.alerts,
    )


def canary_check(platform: Platform, ctx: TaskContext | None = None) -> dict[str, Any]:
    """Flush this process's serving figures, then promote or roll back canaries."""
    judge = CanaryJudge(platform.model_registry, platform.settings.mlops)
    return judge_canaries(
        platform.canary_monitor, judge, platform.alerting.notifier, platform.alerts
    )


def alert_check(platform: Platform, ctx: TaskContext | None = None) -> dict[str, Any]:
    """Alert on the fallback rate per surface, the 5xx rate per route, queue backlogs
    and failed tasks (each since the previous check)."""
    ml = platform.settings.mlops
    result = alert_on_fallbacks(platform.alerting, ml.alert_fallback_rate, platform.alerts)
    health = alert_on_platform_health(
        platform.alerting.errors,
        platform.bus,
        platform.jobs,
        platform.alerts,
        error_rate=ml.alert_error_rate,
        queue_depth=ml.alert_queue_depth,
        min_requests=MIN_REQUESTS_FOR_RATE,
    )
    return {**result, "alerts": {"fallback_rate": result["alerts"], **health}}
