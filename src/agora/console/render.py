"""Jinja2 rendering for console pages: the environment, the navigation, headers.

Every page is served with a Content-Security-Policy that allows only this
origin (scripts, styles, images, fetches), so a console page cannot load from
a CDN or post anywhere else, and with ``Cache-Control: no-store`` (pages show
data a key may stop being allowed to see).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from agora import __version__
from agora.console.auth import Operator
from agora.domain import Scope

HERE = Path(__file__).parent
PREFIX = "/console"
STATIC = f"{PREFIX}/static"
templates = Jinja2Templates(directory=HERE / "templates")

CSP = "; ".join(
    (
        "default-src 'self'",
        # <model-viewer> compiles WebAssembly (its decoders); JS eval stays forbidden.
        "script-src 'self' 'wasm-unsafe-eval'",
        # uPlot and htmx set inline style attributes; no inline script runs.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "connect-src 'self' data: blob:",
        "worker-src 'self' blob:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class NavItem:
    """One entry of the side navigation, shown to keys with ``scope``."""

    name: str
    label: str
    path: str
    scope: Scope


NAV = (
    NavItem("overview", "Overview", "/", Scope.READ),
    NavItem("catalog", "Catalog", "/catalog", Scope.READ),
    NavItem("search", "Search playground", "/search", Scope.READ),
    NavItem("recommendations", "Recommendations", "/recommendations", Scope.READ),
    NavItem("moderation", "Moderation queue", "/moderation", Scope.MODERATOR),
    NavItem("tags", "Tag review", "/tags", Scope.READ),
    NavItem("models", "Models", "/models", Scope.READ),
    NavItem("drift", "Drift", "/drift", Scope.READ),
    NavItem("alerts", "Alerts", "/alerts", Scope.READ),
    NavItem("jobs", "Jobs & scheduler", "/jobs", Scope.READ),
    NavItem("audit", "Audit log", "/audit", Scope.ADMIN),
    NavItem("webhooks", "Webhooks", "/webhooks", Scope.ADMIN),
    NavItem("keys", "API keys", "/keys", Scope.ADMIN),
)


def _when(value: Any) -> str:
    """ISO timestamps shortened to the minute, in UTC."""
    if value is None or value == "":
        return ""
    if isinstance(value, int | float):
        # Epoch seconds, or milliseconds (MLflow's timestamps).
        value = datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
    if isinstance(value, datetime):
        value = value.isoformat()
    text = str(value)
    return text[:16].replace("T", " ")


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _pct(value: Any) -> str:
    return "-" if value is None else f"{float(value):.0%}"


def _json_data(value: Any) -> Markup:
    """JSON for a ``<script type="application/json">`` block (``</`` escaped)."""
    text = json.dumps(value, default=str).replace("</", "<\\/")
    # Escaped above, and the block is data (never executed).
    return Markup(text)


def with_query(request: Request, **changes: Any) -> str:
    """This page's URL with some query parameters changed (None drops one)."""
    params = dict(request.query_params)
    for name, value in changes.items():
        if value is None or value == "":
            params.pop(name, None)
        else:
            params[name] = str(value)
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


templates.env.filters.update(when=_when, num=_num, pct=_pct, json_data=_json_data)
templates.env.globals.update(
    with_query=with_query, version=__version__, static=STATIC, prefix=PREFIX
)


def page(
    request: Request,
    template: str,
    op: Operator,
    active: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` inside the console layout for ``op``."""
    nav = [item for item in NAV if op.can(item.scope)]
    response = templates.TemplateResponse(
        request,
        template,
        {"op": op, "nav": nav, "active": active, "csrf": op.csrf, **context},
        status_code=status_code,
        headers=HEADERS,
    )
    return response


def bare(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page outside the signed-in layout (sign-in, errors)."""
    return templates.TemplateResponse(
        request, template, context, status_code=status_code, headers=HEADERS
    )
