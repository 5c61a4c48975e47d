"""Outgoing webhooks: subscriptions and their delivery log."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from agora.api.schemas.common import RequestModel, ResponseModel, UtcDatetime
from agora.webhooks.events import WebhookEventType

__all__ = [
    "Delivery",
    "DeliveryList",
    "DeliveryStatus",
    "Webhook",
    "WebhookCreate",
    "WebhookCreated",
    "WebhookEventType",
    "WebhookList",
]

DeliveryStatus = Literal["pending", "delivered", "failed"]


class WebhookCreate(RequestModel):
    """A new subscription: where to POST, and which events."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://shop.example/agora-hooks",
                    "event_types": ["asset.processed", "verdict.created"],
                }
            ]
        }
    )

    url: str = Field(
        min_length=1, max_length=2048, description="http(s) URL that receives POSTed deliveries."
    )
    event_types: list[WebhookEventType] = Field(min_length=1)
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=128,
        description="Signing secret; generated (and shown once) when omitted.",
    )


class Webhook(ResponseModel):
    """A subscription (its secret is never shown again)."""

    id: str
    url: str
    event_types: list[WebhookEventType]
    active: bool
    created_by: str | None = None
    created_at: UtcDatetime


class WebhookCreated(Webhook):
    """A new subscription with its signing secret, shown only this once."""

    secret: str = Field(description="Verify each delivery's signature with it (`whsec_...`).")


class WebhookList(ResponseModel):
    """Every subscription, oldest first."""

    items: list[Webhook]


class Delivery(ResponseModel):
    """One event sent (or to be sent) to a subscription."""

    id: int
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None = Field(default=None, description="The receiver's last answer.")
    last_error: str | None = None
    created_at: UtcDatetime
    next_attempt_at: UtcDatetime | None = Field(default=None, description="Only while pending.")
    delivered_at: UtcDatetime | None = None


class DeliveryList(ResponseModel):
    """A subscription's deliveries, newest first."""

    items: list[Delivery]
