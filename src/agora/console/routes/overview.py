"""Overview: traffic, errors and latency per route, queue depths, fallbacks,
the latest alert checks and the models that serve."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from agora.console.auth import Reader
from agora.console.render import page
from agora.console.traffic import fallbacks_by_kind, route_traffic
from agora.mlops.orchestrator import KIND_PREFIX
from agora.ops.queues import watched_queues
from agora.runtime import Platform

router = APIRouter()
log = logging.getLogger(__name__)
# Scheduled tasks whose results are the platform's alerts (drift, fallbacks, canaries).
ALERT_TASKS = ("drift_check", "alert_check", "canary_check")


def _queues(platform: Platform) -> list[dict[str, Any]]:
    rows = []
    for topic, group in watched_queues():
        try:
            depth: int | None = platform.bus.depth(topic, group)
        except Exception:  # an overview shows "n/a" rather than failing
            log.warning("queue depth of %s/%s unavailable", topic, group, exc_info=True)
            depth = None
        rows.append({"topic": topic, "group": group, "depth": depth})
    return rows


def _alerts(platform: Platform) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for name in ALERT_TASKS:
        found.extend(platform.jobs.list(kind=f"{KIND_PREFIX}{name}", limit=3))
    return sorted(found, key=lambda j: str(j["created_at"]), reverse=True)[:6]


def _serving(platform: Platform) -> list[Any] | None:
    try:
        deployments = platform.model_registry.deployments()
    except Exception:  # the registry may be unreachable; the page still renders
        log.warning("model deployments unavailable for the console", exc_info=True)
        return None
    return [d for d in deployments if d.champion is not None or d.challenger is not None]


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, op: Reader) -> HTMLResponse:
    """The platform at a glance."""
    platform = op.platform
    return page(
        request,
        "overview.html",
        op,
        "overview",
        title="Overview",
        counts=platform.assets.count_by_status(),
        routes=route_traffic(),
        queues=_queues(platform),
        fallbacks=fallbacks_by_kind(),
        alerts=_alerts(platform),
        serving=_serving(platform),
        jobs=platform.jobs.list(limit=8),
    )
