"""Stored alerts: list them with filters, acknowledge one (audited with the key).

The scheduled checks (``drift_check``, ``canary_check``, ``alert_check``) raise
and resolve alerts; people only read and acknowledge them.

Example:
    >>> client.get("/api/v1/alerts", params={"state": "open"}).json()["items"]
    ... # doctest: +SKIP
    [{'id': 12, 'kind': 'drift', 'subject': 'ranking-pctr', ...}]
    >>> client.post("/api/v1/alerts/12/ack", json={"note": "on it"})  # doctest: +SKIP
    <Response [200 OK]>
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query

from agora.api.deps import PlatformDep, Reader, Writer
from agora.api.schemas.alerts import Alert, AlertAck, AlertPage

router = APIRouter(prefix="/alerts", tags=["alerts"])
# An optional body: an empty request is no note (documented as the model, with its example).
_OPTIONAL = Body(None)
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The alert's id.")]


@router.get("", response_model=AlertPage)
def list_alerts(
    platform: PlatformDep,
    _: Reader,
    kind: Annotated[str | None, Query(max_length=32, description="e.g. drift.")] = None,
    severity: Annotated[Literal["info", "warning", "error", "critical"] | None, Query()] = None,
    subject: Annotated[str | None, Query(max_length=255)] = None,
    state: Annotated[
        Literal["open", "resolved", "all"], Query(description="open: still firing.")
    ] = "all",
    acknowledged: Annotated[bool | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=32, description="`next_cursor` of the previous page.")
    ] = None,
) -> dict[str, Any]:
    """Alerts newest first, filtered and cursor-paginated."""
    page = platform.alerts.page(
        kind=kind,
        severity=severity,
        subject=subject,
        state=state,
        acknowledged=acknowledged,
        limit=limit,
        cursor=cursor,
    )
    return {"items": [a.to_dict() for a in page.items], "next_cursor": page.next_cursor}


@router.get("/{alert_id}", response_model=Alert)
def get_alert(alert_id: AlertId, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """One alert."""
    return platform.alerts.get(alert_id).to_dict()


@router.post("/{alert_id}/ack", response_model=Alert)
def acknowledge_alert(
    alert_id: AlertId,
    platform: PlatformDep,
    principal: Writer,
    body: AlertAck = _OPTIONAL,
) -> dict[str, Any]:
    """Acknowledge an alert (audited as `alert.acknowledged`). It stays open until
    its check finds the condition cleared; acknowledging again changes nothing."""
    body = body or AlertAck()
    return platform.alerts.acknowledge(alert_id, principal.actor, body.note).to_dict()
