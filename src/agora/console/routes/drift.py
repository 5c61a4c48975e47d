"""Drift and data quality: PSI and KS per input feature of a model's served
version, measured now against its training snapshot (the API's
``/models/{name}/drift``); each feature's reference vs current distribution
(chart); the scheduled drift checks over time from the stored history (charts
of PSI and of the KS statistic per feature, the API's
``/models/{name}/drift/history``), the last reports, and the model's drift
alerts with their acknowledgements."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from agora.console.auth import Operator, Reader
from agora.console.render import PREFIX, page, with_query
from agora.errors import AgoraError
from agora.mlops.checks import drift_report_path
from agora.mlops.drift_history import DriftCheck
from agora.mlops.drift_status import DriftStatus
from agora.mlops.serving_report import ServingReports

router = APIRouter()
CHECKS = 50  # drift checks charted
REPORTS = 10  # the last checks listed
ALERTS = 10  # the model's latest drift alerts
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


def _feature_chart(checks: list[DriftCheck], figure: str, title: str, y: str) -> dict[str, Any]:
    """One uPlot series set: x the check times, one line per feature."""
    names = sorted({f.name for c in checks for f in c.features})
    at = {(i, f.name): getattr(f, figure) for i, c in enumerate(checks) for f in c.features}
    return {
        "title": title,
        "y": y,
        "labels": names,
        "data": [
            [c.measured_at.timestamp() for c in checks],
            *[[at.get((i, n)) for i in range(len(checks))] for n in names],
        ],
    }


def _history(op: Operator, name: str) -> dict[str, Any]:
    """Charts of PSI and KS per feature over the stored checks, the last reports,
    and the model's drift alerts."""
    checks = op.platform.drift_history.checks(name, limit=CHECKS) if name else []
    alerts = op.platform.alerts.page(kind="drift", subject=name, limit=ALERTS).items if name else []
    return {
        "checks": checks,
        "psi_chart": _feature_chart(
            checks, "psi", f"PSI per feature of {name} at each check", "PSI"
        ),
        "ks_chart": _feature_chart(
            checks, "ks_statistic", f"KS statistic per feature of {name} at each check", "KS D"
        ),
        "reports": list(reversed(checks))[:REPORTS],
        "report_file": drift_report_path(op.platform.settings.data_dir, name) if name else None,
        "items": alerts,
    }


@router.get("/drift", response_class=HTMLResponse)
def drift(
    request: Request,
    op: Reader,
    model: Annotated[str, Query(max_length=128)] = "",
    flash: Annotated[str, Query(max_length=300)] = "",
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
        measured_at=measured_at,
        ttl_s=MEASURE_TTL_S,
        back=with_query(request, flash=None).removeprefix(PREFIX),
        flash=flash,
        flash_kind="error" if flash.startswith("Refused") else "ok",
        **_history(op, name),
    )
