"""Webhook subscriptions and their delivery log (admin scope).

Example:
    >>> r = client.post("/api/v1/webhooks", json={"url": "https://shop.example/hooks",
    ...                 "event_types": ["asset.processed"]})  # doctest: +SKIP
    >>> r.status_code, r.json()["secret"].startswith("whsec_")  # doctest: +SKIP
    (201, True)
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from agora.api.deps import Admin, PlatformDep
from agora.webhooks.dispatch import delivery_log
from agora.webhooks.subscriptions import EVENT_TYPES, WebhookRegistry

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


class WebhookCreate(BaseModel):
    """A new subscription."""

    url: str = Field(
        description="http(s) URL that receives POSTed deliveries",
        examples=["https://shop.example/agora-hooks"],
    )
    event_types: list[str] = Field(
        min_length=1,
        description=f"any of: {', '.join(sorted(EVENT_TYPES))}",
        examples=[["asset.processed", "verdict.created"]],
    )
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=128,
        description="signing secret; generated (and shown once) when omitted",
    )


@router.post("", status_code=201)
def create_webhook(body: WebhookCreate, platform: PlatformDep, principal: Admin) -> dict[str, Any]:
    """Subscribe a URL to event types. The response holds the signing ``secret``,
    shown only this once."""
    sub = WebhookRegistry(platform.db).create(
        body.url, body.event_types, principal.actor, secret=body.secret
    )
    platform.audit.record(
        principal.actor,
        "webhook.created",
        "webhook",
        sub.id,
        details={"url": sub.url, "event_types": sub.event_types},
    )
    return sub.to_dict()


@router.get("")
def list_webhooks(platform: PlatformDep, _: Admin) -> dict[str, Any]:
    """Every subscription (without secrets)."""
    return {"items": [s.to_dict() for s in WebhookRegistry(platform.db).list()]}


@router.get("/{webhook_id}")
def get_webhook(webhook_id: str, platform: PlatformDep, _: Admin) -> dict[str, Any]:
    """One subscription (without its secret)."""
    return WebhookRegistry(platform.db).get(webhook_id).to_dict()


@router.delete("/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: str, platform: PlatformDep, principal: Admin) -> Response:
    """Remove a subscription; its pending deliveries are dropped."""
    WebhookRegistry(platform.db).delete(webhook_id)
    platform.audit.record(principal.actor, "webhook.deleted", "webhook", webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries")
def list_deliveries(
    webhook_id: str,
    platform: PlatformDep,
    _: Admin,
    status: Literal["pending", "delivered", "failed"] | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    """Delivery log, newest first: status, attempts, last status code and error, times."""
    return {"items": delivery_log(platform.db, webhook_id, status=status, limit=limit)}
