"""Drift and data quality: PSI and KS per input feature of a model's served
version, measured now against its training snapshot (the API's
``/models/{name}/drift``); each feature's reference vs current distribution
(chart); the scheduled drift checks over time (chart of the largest PSI per
model) with the drifts they alerted on, and the report files they wrote."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from agora.console.auth import Operator, Reader
from agora.console.render import page
from agora.errors import AgoraError
from agora.mlops.drift_status import DriftStatus
from agora.mlops.orchestrator import KIND_PREFIX
from agora.mlops.serving_report import ServingReports

router = APIRouter()
CHECKS = 50  # drift_check runs charted
# A measurement reads the served window (hours of data) and bins every feature:
# a dashboard may show one up to a minute old rather than redo it per render.
MEASURE_TTL_S = 60.0


def _measured(request: Request, op: Operator, name: str) -> tuple[Any, datetime]:
    """The drift status of ``name``, measured at most ``MEASURE_TTL_S`` ago."""
    cache: dict[str, tuple[float, Any, datetime]] | None = getattr(
        request.app.state, "console_drift", None
    )
    if cache is None:
        cache = request.app.state.console_drift = {}
    hit = cache.get(name)
    if hit is not None and time.monotonic() - hit[0] < MEASURE_TTL_S:
        return hit[1], hit[2]
    status, at = _status(op, name), datetime.now(UTC)
    cache[name] = (time.monotonic(), status, at)
    return status, at


def _status(op: Operator, name: str) -> Any:
    platform = op.platform
    reports = ServingReports(
        platform.models, platform.serving, ranking_scorer=platform.settings.ranking.scorer
    )
    return DriftStatus(platform.drift_sources(), reports).of(name)


def _history(op: Operator) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The largest PSI per model at each drift check (a uPlot series set), and the
    checks that found drift (alerts)."""
    runs = op.platform.jobs.list(kind=f"{KIND_PREFIX}drift_check", limit=CHECKS)
    runs = sorted((r for r in runs if r.get("result")), key=lambda r: str(r["created_at"]))
    series: dict[str, list[float | None]] = defaultdict(lambda: [None] * len(runs))
    times: list[float] = []
    alerts: list[dict[str, Any]] = []
    for i, run in enumerate(runs):
        times.append(datetime.fromisoformat(str(run["created_at"])).timestamp())
        for m in run["result"].get("models", []):
            if "max_psi" in m:
                series[m["model"].split("@")[0]][i] = m["max_psi"]
            if m.get("drifted"):
                alerts.append({"at": run["created_at"], **m})
    chart = {
        "title": "Largest PSI per model at each drift check",
        "y": "PSI",
        "labels": sorted(series),
        "data": [times, *[series[k] for k in sorted(series)]],
    }
    return chart, list(reversed(alerts))[:20]


@router.get("/drift", response_class=HTMLResponse)
def drift(
    request: Request, op: Reader, model: Annotated[str, Query(max_length=128)] = ""
) -> HTMLResponse:
    """Drift of one model now, and the drift checks over time."""
    names = op.platform.models.models()
    name = model if model in names else ("ranking-pctr" if "ranking-pctr" in names else "")
    status, error, measured_at = None, None, None
    if name:
        try:
            status, measured_at = _measured(request, op, name)
        except AgoraError as exc:
            error = str(exc)
    chart, alerts = _history(op)
    features = (
        sorted(status.report.features, key=lambda f: -f.psi) if status and status.report else []
    )
    return page(
        request,
        "drift.html",
        op,
        "drift",
        title="Drift",
        names=names,
        name=name,
        status=status,
        error=error,
        features=features,
        dist_charts=[
            {
                "title": f"{f.name}: reference vs current",
                "y": "share",
                "labels": ["reference", "current"],
                "data": [
                    list(range(len(f.reference_proportions))),
                    list(f.reference_proportions),
                    list(f.current_proportions),
                ],
            }
            for f in features[:4]
        ],
        chart=chart,
        alerts=alerts,
        measured_at=measured_at,
        ttl_s=MEASURE_TTL_S,
    )
