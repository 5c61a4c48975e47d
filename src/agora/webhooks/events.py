"""The event types a webhook subscription may name (import-light: the API
schemas and the SDK read it without loading the dispatcher)."""

from __future__ import annotations

from typing import Literal, get_args

WebhookEventType = Literal[
    "asset.processed",
    "asset.flagged",
    "asset.updated",
    "asset.deleted",
    "verdict.created",
    "tags.updated",
    "interaction.recorded",
    "model.promoted",
    "alert.fired",
]
"""Every event type a subscription may name; the one place to add a new one."""

EVENT_TYPES: frozenset[str] = frozenset(get_args(WebhookEventType))
