"""Webhooks and API keys (admin). Webhooks: subscriptions, each one's delivery
log with attempts (retries), create and delete. Keys: list, create (the token
is shown once), revoke (with a confirmation; the key's console sessions end).
Keys are managed through the platform's key service, which the keys admin API
and ``agora keys`` use too."""

from __future__ import annotations

from typing import Annotated, Any, get_args
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from agora.api.schemas.webhooks import WebhookCreate
from agora.console.auth import Admin, CheckedDep, sessions
from agora.console.render import PREFIX, page
from agora.domain import Scope
from agora.errors import AgoraError
from agora.webhooks.dispatch import delivery_log
from agora.webhooks.events import WebhookEventType
from agora.webhooks.subscriptions import WebhookRegistry

router = APIRouter()
Id = Annotated[str, Path(min_length=1, max_length=64)]


def _to(path: str, message: str) -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/{path}?flash={quote(message[:280])}", status_code=303)


@router.get("/webhooks", response_class=HTMLResponse)
def webhooks(
    request: Request,
    op: Admin,
    id: Annotated[str, Query(max_length=64)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    flash: Annotated[str, Query(max_length=300)] = "",
) -> HTMLResponse:
    """Subscriptions, and the delivery log of the selected one."""
    subs = WebhookRegistry(op.platform.db).list()
    selected = id or (subs[0].id if subs else "")
    deliveries: list[dict[str, Any]] = []
    error = None
    if selected:
        try:
            deliveries = delivery_log(op.platform.db, selected, status=status or None, limit=50)
        except AgoraError as exc:
            error = str(exc)
    return page(
        request,
        "webhooks.html",
        op,
        "webhooks",
        title="Webhooks",
        subs=subs,
        selected=selected,
        status=status,
        deliveries=deliveries,
        event_types=get_args(WebhookEventType),
        flash=error or flash or None,
        flash_kind="error" if error or flash.startswith("Refused") else "ok",
    )


@router.post("/webhooks")
def create_webhook(
    op: Admin,
    _: CheckedDep,
    url: Annotated[str, Form(max_length=2048)],
    event_types: Annotated[list[str], Form()],
) -> Response:
    """Subscribe a URL (validated as the API validates it); the secret shows once."""
    try:
        body = WebhookCreate.model_validate({"url": url.strip(), "event_types": event_types})
        sub = WebhookRegistry(op.platform.db).create(body.url, list(body.event_types), op.actor)
    except ValidationError as exc:
        return _to("webhooks", f"Refused: {exc.errors()[0]['msg']}")
    except AgoraError as exc:
        return _to("webhooks", f"Refused: {exc}")
    op.platform.audit.record(
        op.actor, "webhook.created", "webhook", sub.id, details={"url": sub.url}
    )
    secret = sub.to_dict().get("secret", "")
    return _to("webhooks", f"Subscribed {sub.id}; signing secret (shown once): {secret}")


@router.post("/webhooks/{webhook_id}/delete")
def delete_webhook(webhook_id: Id, op: Admin, _: CheckedDep) -> Response:
    """Remove a subscription; its pending deliveries are dropped."""
    try:
        WebhookRegistry(op.platform.db).delete(webhook_id)
    except AgoraError as exc:
        return _to("webhooks", f"Refused: {exc}")
    op.platform.audit.record(op.actor, "webhook.deleted", "webhook", webhook_id)
    return _to("webhooks", f"Deleted {webhook_id}")


@router.get("/keys", response_class=HTMLResponse)
def keys(
    request: Request, op: Admin, flash: Annotated[str, Query(max_length=300)] = ""
) -> HTMLResponse:
    """Every key without its secret."""
    return page(
        request,
        "keys.html",
        op,
        "keys",
        title="API keys",
        keys=op.platform.keys.list(),
        scopes=[s.value for s in Scope],
        created=None,
        flash=flash or None,
        flash_kind="error" if flash.startswith("Refused") else "ok",
    )


@router.post("/keys", response_class=HTMLResponse)
def create_key(
    request: Request,
    op: Admin,
    _: CheckedDep,
    scopes: Annotated[list[str], Form()],
    name: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Create a key and show its token once (this response only, never stored)."""
    try:
        created = op.platform.keys.create(scopes, name=name.strip() or None, actor=op.actor)
    except AgoraError as exc:
        return _to("keys", f"Refused: {exc}")
    return page(
        request,
        "keys.html",
        op,
        "keys",
        title="API keys",
        keys=op.platform.keys.list(),
        scopes=[s.value for s in Scope],
        created=created,
    )


@router.post("/keys/{key_id}/revoke")
def revoke_key(request: Request, key_id: Id, op: Admin, _: CheckedDep) -> Response:
    """Revoke a key; it stops working on the next request, console sessions included."""
    try:
        op.platform.keys.revoke(key_id, actor=op.actor)
    except AgoraError as exc:
        return _to("keys", f"Refused: {exc}")
    ended = sessions(request).close_key(key_id)
    return _to("keys", f"Revoked {key_id} ({ended} console session(s) ended)")
