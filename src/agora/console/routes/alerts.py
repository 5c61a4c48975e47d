"""Alerts: what the scheduled checks raised (drift, canary rollbacks, fallback and
error rates, queue backlogs, failed tasks), filtered and paged, newest first;
acknowledge one (write scope, CSRF-checked, audited with the key)."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agora.console.auth import CheckedDep, Reader, Writer
from agora.console.render import PREFIX, page, with_query
from agora.errors import AgoraError
from agora.mlops.alert_store import ALERT_KINDS, SEVERITIES

router = APIRouter()
PAGE_SIZE = 25
# Where an acknowledgement returns: this page or the drift page (a relative console path).
BACK = r"^/(alerts|drift)(\?[^\s]*)?$"


@router.get("/alerts", response_class=HTMLResponse)
def alerts(
    request: Request,
    op: Reader,
    kind: Annotated[str, Query(max_length=32)] = "",
    severity: Annotated[str, Query(max_length=16)] = "",
    state: Annotated[Literal["open", "resolved", "all"], Query()] = "all",
    acked: Annotated[Literal["", "yes", "no"], Query()] = "",
    cursor: Annotated[str, Query(max_length=32)] = "",
    flash: Annotated[str, Query(max_length=300)] = "",
) -> HTMLResponse:
    """Stored alerts, filtered."""
    store = op.platform.alerts
    error = None
    try:
        found = store.page(
            kind=kind or None,
            severity=severity or None,
            state=state,
            acknowledged=None if not acked else acked == "yes",
            limit=PAGE_SIZE,
            cursor=cursor or None,
        )
        items, next_cursor = found.items, found.next_cursor
    except AgoraError as exc:  # a tampered cursor
        items, next_cursor, error = [], None, str(exc)
    return page(
        request,
        "alerts.html",
        op,
        "alerts",
        title="Alerts",
        items=items,
        next_cursor=next_cursor,
        counts=store.open_counts(),
        kinds=ALERT_KINDS,
        severities=SEVERITIES,
        f={"kind": kind, "severity": severity, "state": state, "acked": acked},
        back=with_query(request, flash=None).removeprefix(PREFIX),
        flash=error or flash,
        flash_kind="error" if error or flash.startswith("Refused") else "ok",
    )


@router.post("/alerts/{alert_id}/ack")
def acknowledge(
    alert_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    op: Writer,
    _: CheckedDep,
    note: Annotated[str, Form(max_length=500)] = "",
    back: Annotated[str, Form(max_length=300, pattern=BACK)] = "/alerts",
) -> Response:
    """Acknowledge one alert, then back to the page it was acknowledged on."""
    try:
        alert = op.platform.alerts.acknowledge(alert_id, op.actor, note.strip())
        flash = f"Alert {alert.id} ({alert.kind} on {alert.subject}) acknowledged by {op.actor}."
    except AgoraError as exc:
        flash = f"Refused: {exc}"
    sep = "&" if "?" in back else "?"
    return RedirectResponse(
        f"{PREFIX}{back}{sep}flash={quote(flash[:280])}#alert-{alert_id}", status_code=303
    )
