"""Overview: traffic, errors and latency per route, queue depths, fallbacks,
the latest stored alerts (open ones first) and the models that serve."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from agora.console.auth import Reader
from agora.console.render import page
from agora.console.traffic import fallbacks_by_kind, route_traffic
from agora.mlops.alert_store import Alert
from agora.ops.queues import watched_queues
from agora.runtime import Platform

router = APIRouter()
log = logging.getLogger(__name__)
LATEST_ALERTS = 6


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


def _alerts(platform: Platform) -> list[Alert]:
    """The latest open alerts; the latest resolved ones fill the rest of the card."""
    found = platform.alerts.page(state="open", limit=LATEST_ALERTS).items
    if len(found) < LATEST_ALERTS:
        found += platform.alerts.page(state="resolved", limit=LATEST_ALERTS - len(found)).items
    return found


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
        alert_counts=platform.alerts.open_counts(),
        serving=_serving(platform),
        jobs=platform.jobs.list(limit=8),
    )
