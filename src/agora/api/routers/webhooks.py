"""Webhook subscriptions and their delivery log (admin scope).

Example:
    >>> r = client.post("/api/v1/webhooks", json={"url": "https://shop.example/hooks",
    ...                 "event_types": ["asset.processed"]})  # doctest: +SKIP
    >>> r.status_code, r.json()["secret"].startswith("whsec_")  # doctest: +SKIP
    (201, True)
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from agora.api.deps import Admin, PlatformDep
from agora.api.schemas.webhooks import (
    DeliveryList,
    DeliveryStatus,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
)
from agora.api.schemas.webhooks import Webhook as WebhookOut
from agora.webhooks.dispatch import delivery_log
from agora.webhooks.subscriptions import WebhookRegistry

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
WebhookId = Annotated[str, Path(min_length=1, max_length=64)]


@router.post("", status_code=201, response_model=WebhookCreated)
def create_webhook(body: WebhookCreate, platform: PlatformDep, principal: Admin) -> dict[str, Any]:
    """Subscribe a URL to event types. The response holds the signing `secret`,
    shown only this once."""
    sub = WebhookRegistry(platform.db).create(
        body.url, list(body.event_types), principal.actor, secret=body.secret
    )
    platform.audit.record(
        principal.actor,
        "webhook.created",
        "webhook",
        sub.id,
        details={"url": sub.url, "event_types": sub.event_types},
    )
    return sub.to_dict()


@router.get("", response_model=WebhookList)
def list_webhooks(platform: PlatformDep, _: Admin) -> dict[str, Any]:
    """Every subscription (without secrets)."""
    return {"items": [s.to_dict() for s in WebhookRegistry(platform.db).list()]}


@router.get("/{webhook_id}", response_model=WebhookOut)
def get_webhook(webhook_id: WebhookId, platform: PlatformDep, _: Admin) -> dict[str, Any]:
    """One subscription (without its secret)."""
    return WebhookRegistry(platform.db).get(webhook_id).to_dict()


@router.delete("/{webhook_id}", status_code=204, response_class=Response)
def delete_webhook(webhook_id: WebhookId, platform: PlatformDep, principal: Admin) -> Response:
    """Remove a subscription; its pending deliveries are dropped."""
    WebhookRegistry(platform.db).delete(webhook_id)
    platform.audit.record(principal.actor, "webhook.deleted", "webhook", webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=DeliveryList)
def list_deliveries(
    webhook_id: WebhookId,
    platform: PlatformDep,
    _: Admin,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Delivery log, newest first: status, attempts, last status code and error, times."""
    return {"items": delivery_log(platform.db, webhook_id, status=status, limit=limit)}
