"""Moderation queue: items by priority with their reasons and scores, approve /
reject / escalate (buttons and keyboard shortcuts, htmx-swapped rows), appeals,
and (admin) overrides: force-boosts and bans with an expiry."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agora.console.auth import Admin, CheckedDep, Moderator
from agora.console.render import PREFIX, bare, page
from agora.errors import AgoraError
from agora.features.overrides import override_view
from agora.features.schemas import OverrideAction, OverrideTarget
from agora.moderation.queue import DECISIONS_ALLOWED, QueueFilter

router = APIRouter()
PAGE_SIZE = 25
STATES = ("pending", "open", "escalated", "appealed", "approved", "rejected")
KINDS = ("review", "block", "post_hoc")
ItemId = Annotated[str, Path(min_length=1, max_length=64)]


def _back(message: str) -> RedirectResponse:
    """Back to the queue, saying what happened."""
    return RedirectResponse(f"{PREFIX}/moderation?flash={quote(message[:280])}", status_code=303)


@router.get("/moderation", response_class=HTMLResponse)
def queue(
    request: Request,
    op: Moderator,
    state: Annotated[str, Query(max_length=16)] = "pending",
    kind: Annotated[str, Query(max_length=16)] = "",
    seller_id: Annotated[str, Query(max_length=128)] = "",
    min_risk: Annotated[float | None, Query(ge=0, le=1)] = None,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    flash: Annotated[str, Query(max_length=300)] = "",
) -> HTMLResponse:
    """The review queue, highest priority first."""
    flt = QueueFilter(
        state if state in STATES else "pending",
        kind if kind in KINDS else None,
        seller_id or None,
        None,
        min_risk,
        PAGE_SIZE + 1,  # one more: is there a next page?
        offset,
    )
    found = op.platform.moderation_queue.items(flt)["items"]
    overrides = (
        [override_view(o) for o in op.platform.overrides.find(include_expired=False)]
        if op.can("admin")
        else None
    )
    return page(
        request,
        "moderation.html",
        op,
        "moderation",
        title="Moderation queue",
        items=found[:PAGE_SIZE],
        has_next=len(found) > PAGE_SIZE,
        offset=offset,
        limit=PAGE_SIZE,
        f={"state": flt.state, "kind": kind, "seller_id": seller_id, "min_risk": min_risk},
        states=STATES,
        kinds=KINDS,
        overrides=overrides,
        # StrEnums (not Literals, whose typing.get_args would list them).
        actions=[a.value for a in OverrideAction],
        targets=[t.value for t in OverrideTarget],
        flash=flash or None,
    )


@router.post("/moderation/items/{item_id}/decision")
def decide(
    request: Request,
    item_id: ItemId,
    op: Moderator,
    _: CheckedDep,
    decision: Annotated[str, Form(max_length=16)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Approve, reject or escalate one item, audited with the signed-in key.
    htmx gets the updated row; a plain form post goes back to the queue."""
    error = None
    if decision not in DECISIONS_ALLOWED:
        error = f"decision must be one of {list(DECISIONS_ALLOWED)}"
        item: dict[str, Any] = op.platform.moderation_queue.get(item_id)
    else:
        try:
            item = op.platform.moderation_queue.decide(
                item_id, decision, op.actor, note=note.strip() or None
            )
        except AgoraError as exc:  # decided already (409), unknown item (404)...
            error = str(exc)
            item = op.platform.moderation_queue.get(item_id)
    if request.headers.get("hx-request"):
        return bare(request, "partials/moderation_row.html", item=item, error=error, csrf=op.csrf)
    message = error or f"{decision}: {item['asset_id']} is now {item['state']}"
    return _back(message)


@router.post("/moderation/overrides")
def create_override(
    op: Admin,
    _: CheckedDep,
    action: Annotated[str, Form(max_length=16)],
    target: Annotated[str, Form(max_length=16)],
    value: Annotated[str, Form(max_length=256)],
    multiplier: Annotated[float, Form(gt=0, le=100)] = 1.5,
    reason: Annotated[str, Form(max_length=2000)] = "",
    ttl_hours: Annotated[float | None, Form(gt=0, le=87600)] = None,
) -> Response:
    """Force-boost or ban a category, seller or asset, with an optional expiry."""
    body: dict[str, Any] = {"action": action, "target": target, "value": value.strip()}
    body |= {"reason": reason.strip()}
    if action == "boost":
        body["multiplier"] = multiplier
    if ttl_hours:
        body["ttl_s"] = ttl_hours * 3600
    try:
        created = op.platform.overrides.create(body, op.actor)
        message = f"override {created.id}: {action} {target} {value} in force"
    except AgoraError as exc:
        message = f"override refused: {exc}"
    return _back(message)


@router.post("/moderation/overrides/{override_id}/lift")
def lift_override(
    override_id: Annotated[str, Path(max_length=64)], op: Admin, _: CheckedDep
) -> Response:
    """Lift an override now."""
    try:
        op.platform.overrides.delete(override_id, op.actor)
        message = f"override {override_id} lifted"
    except AgoraError as exc:
        message = f"could not lift {override_id}: {exc}"
    return _back(message)
