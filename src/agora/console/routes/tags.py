"""Tag review: the models' tags on a page of assets, confirmed or rejected in
bulk (one ``feedback_batch`` call, one transaction); the taxonomy; and the
retraining status of the tag heads."""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agora.catalog.listing import AssetFilter
from agora.console.auth import CheckedDep, Operator, Reader, Writer
from agora.console.render import PREFIX, page
from agora.domain import Scope
from agora.errors import AgoraError
from agora.tagging.service import TaggingService
from agora.tagging.training import HEADS_MODEL

router = APIRouter()
log = logging.getLogger(__name__)
PAGE_SIZE = 8
MAX_ITEMS = 1000  # feedback_batch's limit


def _role(op: Operator) -> str:
    """The feedback role of the key's highest scope, as the API defaults it."""
    highest = op.principal.highest
    if highest is Scope.ADMIN:
        return "admin"
    return "moderator" if highest is Scope.MODERATOR else "creator"


def _retraining(op: Operator, service: TaggingService) -> dict[str, Any]:
    status: dict[str, Any] = {"min_feedback": op.platform.settings.tagging.retrain_min_feedback}
    try:
        status["due"] = service.retrain_due()
    except Exception as exc:  # the page still shows the rest
        log.warning("retrain status unavailable", exc_info=True)
        status["error"] = str(exc)
    try:
        status["deployment"] = op.platform.model_registry.deployment(HEADS_MODEL)
        status["history"] = op.platform.model_registry.history(HEADS_MODEL)[-5:][::-1]
    except AgoraError:  # no heads registered yet
        status["deployment"], status["history"] = None, []
    return status


@router.get("/tags", response_class=HTMLResponse)
def review(
    request: Request,
    op: Reader,
    category: Annotated[str, Query(max_length=128)] = "",
    asset_id: Annotated[str, Query(max_length=64)] = "",
    cursor: Annotated[str, Query(max_length=512)] = "",
    flash: Annotated[str, Query(max_length=300)] = "",
) -> HTMLResponse:
    """A page of assets with their model tags, the taxonomy and retraining."""
    platform = op.platform
    if asset_id:
        assets, next_cursor = [platform.assets.get(asset_id)], None
    else:
        flt = AssetFilter(category=category or None, limit=PAGE_SIZE, cursor=cursor or None)
        assets, next_cursor = platform.assets.list(flt)
    service = platform.tagging
    tags = service.results_of([a["id"] for a in assets])
    stored = service.taxonomies.current()
    return page(
        request,
        "tags.html",
        op,
        "tags",
        title="Tag review",
        assets=assets,
        tags={k: sorted(v, key=lambda t: -t["confidence"]) for k, v in tags.items()},
        next_cursor=next_cursor,
        f={"category": category, "asset_id": asset_id},
        taxonomy=stored,
        retraining=_retraining(op, service),
        can_review=op.can(Scope.WRITE),
        role=_role(op),
        flash=flash or None,
    )


@router.post("/tags/feedback")
def feedback(
    op: Writer,
    _: CheckedDep,
    tag: Annotated[list[str], Form(max_length=MAX_ITEMS)],
    verdict: Annotated[str, Form(pattern="^(confirm|reject)$")],
    back: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    """Confirm or reject the ticked tags (``asset_id|category|name`` each)."""
    items = []
    for value in tag:
        asset, _sep, rest = value.partition("|")
        cat, _sep, name = rest.partition("|")
        items.append({"asset_id": asset, "category": cat, "name": name, "verdict": verdict})
    try:
        out = op.platform.tagging.feedback_batch(items, role=_role(op), actor=op.actor)
        message = f"{verdict}ed {len(items)} tag(s)" + (
            "; tag heads retraining started" if out.get("retrain_started") else ""
        )
    except AgoraError as exc:
        message = f"nothing recorded: {exc}"
    target = back if back.startswith(f"{PREFIX}/tags") else f"{PREFIX}/tags"
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}flash={quote(message[:280])}", status_code=303)
