"""The MLOps checks the scheduler runs: retraining triggers, drift, canary, alerts.

Every check also reports what it found to the alert store
(``agora.mlops.alert_store``): a condition opens or refreshes a stored alert,
and a subject checked again without it resolves that alert.

Each takes exactly what it uses; the task entry points that build those from
the platform (``trigger_check``, ``drift_check``, ``canary_check``,
``alert_check``) are in ``agora.mlops.monitoring.tasks``, so a check runs the
same from the scheduler, ``POST /api/v1/pipelines/{name}`` or the CLI.

Example:
    >>> submit_retraining(RetrainTriggers(sources), orchestrator)  # doctest: +SKIP
    {'models': [...], 'submitted': ['<job id>']}
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agora.errors import InvalidInput
from agora.mlops.alert_store import Condition
from agora.mlops.drift_report import render_html
from agora.ops.metrics import MODEL_DRIFTED_FEATURES, MODEL_FEATURE_PSI

if TYPE_CHECKING:
    from agora.mlops.alert_store import AlertStore
    from agora.mlops.alerts import Alerting, AlertNotifier
    from agora.mlops.canary import CanaryMonitor
    from agora.mlops.canary_judge import CanaryJudge
    from agora.mlops.drift_history import DriftHistory
    from agora.mlops.orchestrator import Orchestrator
    from agora.mlops.tasks import TaskContext
    from agora.mlops.triggers import RetrainTriggers

log = logging.getLogger("agora.mlops.checks")
MIN_REQUESTS_FOR_RATE = 20


def drift_report_path(data_dir: Path, model: str) -> Path:
    """Where the latest HTML drift report of ``model`` is written under ``data_dir``.

    >>> import tempfile
    >>> drift_report_path(Path(tempfile.mkdtemp()), "ranking-pctr").name
    'ranking-pctr.html'
    """
    folder = data_dir.absolute() / "mlops" / "drift"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{model}.html"


def submit_retraining(
    triggers: RetrainTriggers, orchestrator: Orchestrator[Any], ctx: TaskContext | None = None
) -> dict[str, Any]:
    """Submit a retraining task for every model whose trigger fired (unless one is
    already queued or running)."""
    models, submitted = [], []
    trained = triggers.trained_models()
    for i, (model, family) in enumerate(sorted(trained.items())):
        decision = triggers.check(model, family)
        models.append(decision.to_dict())
        if decision.retrain and not orchestrator.active(decision.task):
            reason = "trigger: " + "; ".join(decision.reasons)
            submitted.append(
                orchestrator.submit(
                    decision.task, {"reason": reason}, priority=6, created_by="trigger_check"
                )
            )
            log.info("retraining %s: %s", model, reason)
        if ctx is not None:
            ctx.progress(100 * (i + 1) / len(trained), f"checked {model}")
    return {"models": models, "submitted": submitted}


def _drift_condition(model: str, version: str, report: Any, path: Path) -> Condition:
    drifted = sorted(report.drifted, key=lambda f: -f.psi if f.psi == f.psi else 0.0)
    worst = report.by_psi()[0]
    named = ", ".join(
        f"{f.name} (PSI {f.psi:.3f}, KS p {f.ks_pvalue:.3g})" for f in drifted[:5]
    ) + ("..." if len(drifted) > 5 else "")
    return Condition(
        model,
        "warning",
        f"{model}@{version}: {len(drifted)} of {len(report.features)} inputs drifted: {named}",
        value=worst.psi,
        threshold=report.psi_threshold,
        details={
            "version": version,
            "features": [f.name for f in drifted],
            "max_psi_feature": worst.name,
            "ks_alpha": report.ks_alpha,
            "report": str(path),
        },
    )


def measure_drift(
    triggers: RetrainTriggers,
    notifier: AlertNotifier,
    data_dir: Path,
    *,
    history: DriftHistory,
    alerts: AlertStore,
) -> dict[str, Any]:
    """Drift of every champion's inputs and score: gauges, the per-feature history,
    an HTML report under ``data_dir``, and an alert (stored and sent) when inputs
    drifted; a model measured without drift resolves its drift alert."""
    out: list[dict[str, Any]] = []
    firing: list[Condition] = []
    measured_models: list[str] = []
    for model, family in sorted(triggers.trained_models().items()):
        try:
            measured = triggers.drift(model, family)
        except InvalidInput as exc:
            out.append({"model": model, "skipped": str(exc)})
            continue
        if measured is None:
            out.append({"model": model, "skipped": "no champion with a drift reference"})
            continue
        version, report = measured
        measured_models.append(model)
        for feature in report.features:
            MODEL_FEATURE_PSI.labels(model, version, feature.name).set(feature.psi)
        MODEL_DRIFTED_FEATURES.labels(model, version).set(len(report.drifted))
        history.record(model, version, report)
        path = drift_report_path(data_dir, model)
        path.write_text(render_html(report, title=f"Drift: {model}@{version}"))
        drifted = [f.name for f in report.drifted]
        if drifted:
            firing.append(_drift_condition(model, version, report, path))
            notifier.send(
                "drift",
                f"{model}@{version}: {len(drifted)} drifted input(s)",
                {"features": ", ".join(drifted[:10]), "report": str(path)},
                key=f"{model}@{version}",
            )
        out.append(
            {
                "model": f"{model}@{version}",
                "drifted": drifted,
                "max_psi": report.by_psi()[0].psi,
                "report": str(path),
            }
        )
    update = alerts.report("drift", firing, checked=measured_models)
    return {"models": out, "alerts": update.to_dict()}


def judge_canaries(
    monitor: CanaryMonitor, judge: CanaryJudge, notifier: AlertNotifier, alerts: AlertStore
) -> dict[str, Any]:
    """Flush this process's serving figures, then promote or roll back canaries.

    A rollback is a canary regression: it opens (or refreshes) the model's
    ``canary_rollback`` alert, which stays open until a later challenger of that
    model is promoted."""
    monitor.flush()
    verdicts = judge.run()
    rolled_back = [
        Condition(
            v.model_name,
            "error",
            f"{v.model_name}: challenger rolled back: {v.reason}",
            details=v.to_dict(),
        )
        for v in verdicts
        if v.action == "rollback"
    ]
    promoted = [v.model_name for v in verdicts if v.action == "promote"]
    update = alerts.report("canary_rollback", rolled_back, checked=promoted)
    for v in verdicts:
        if v.action == "rollback":
            notifier.send(
                "canary_rollback",
                f"{v.model_name}: challenger rolled back",
                {"reason": v.reason},
                severity="error",
                key=v.model_name,
            )
    return {"verdicts": [v.to_dict() for v in verdicts], "alerts": update.to_dict()}


def alert_on_fallbacks(alerting: Alerting, limit: float, alerts: AlertStore) -> dict[str, Any]:
    """Alert for each surface (search, ranking, recommendations, tagging, moderation)
    whose share of requests that fell back since the last check exceeds ``limit``;
    a surface with enough requests at or under it resolves its alert."""
    notifier, reader = alerting.notifier, alerting.fallbacks
    reading = reader.read()
    alerted: list[str] = []
    checked: list[str] = []
    firing: list[Condition] = []
    for surface, requests in sorted(reading.requests.items()):
        rate = reading.rate_of(surface)
        if requests < MIN_REQUESTS_FOR_RATE:
            continue
        checked.append(surface)
        if rate <= limit:
            continue
        alerted.append(surface)
        kinds = {k: int(v) for k, v in sorted(reading.kinds.items()) if v > 0}
        firing.append(
            Condition(
                surface,
                "critical",
                f"{rate:.1%} of {requests:.0f} {surface} requests fell back (limit {limit:.0%})",
                value=rate,
                threshold=limit,
                details={"requests": int(requests), "fallbacks_by_kind": kinds},
            )
        )
        notifier.send(
            "fallback_rate",
            f"fallback rate {rate:.1%} > {limit:.0%} on {surface}: "
            f"{reading.fell_back.get(surface, 0):.0f} of {requests:.0f} requests fell back",
            {"surface": surface, "fallbacks_by_kind": kinds},
            severity="critical",
            key=surface,
        )
    return {
        "requests": reading.total,
        "fallback_rate": reading.rate,
        "by_surface": {k: reading.rate_of(k) for k in sorted(reading.requests)},
        "alerted": alerted,
        "alerts": alerts.report("fallback_rate", firing, checked=checked).to_dict(),
    }
