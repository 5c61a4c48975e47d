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

from agora.mlops.canary_judge import CanaryJudge
from agora.mlops.checks import alert_on_fallbacks, judge_canaries, measure_drift, submit_retraining
from agora.mlops.triggers import RetrainTriggers

if TYPE_CHECKING:
    from agora.mlops.tasks import TaskContext
    from agora.runtime import Platform


def trigger_check(platform: Platform, ctx: TaskContext | None = None) -> dict[str, Any]:
    """Submit a retraining task for every model whose trigger fired."""
    triggers = RetrainTriggers(platform.drift_sources())
    return submit_retraining(triggers, platform.orchestrator(), ctx)


def drift_check(platform: Platform, ctx: TaskContext | None = None) -> dict[str, Any]:
    """Drift of every champion's inputs and score; gauges, HTML report, alert."""
    triggers = RetrainTriggers(platform.drift_sources())
    return measure_drift(triggers, platform.alerting.notifier, platform.settings.data_dir)


def canary_check(platform: Platform, ctx: TaskContext | None = None) -> dict[str, Any]:
    """Flush this process's serving figures, then promote or roll back canaries."""
    judge = CanaryJudge(platform.model_registry, platform.settings.mlops)
    return judge_canaries(platform.canary_monitor, judge, platform.alerting.notifier)


def alert_check(platform: Platform, ctx: TaskContext | None = None) -> dict[str, Any]:
    """Alert for each surface whose fallback rate since the last check is too high."""
    limit = platform.settings.mlops.alert_fallback_rate
    return alert_on_fallbacks(platform.alerting, limit)
