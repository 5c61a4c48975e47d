"""Outgoing webhooks: subscriptions, signed deliveries, retries, delivery log."""

from agora.webhooks.dispatch import WebhookDispatcher, backoff_delay, delivery_log
from agora.webhooks.signing import InvalidSignature, sign, verify
from agora.webhooks.subscriptions import EVENT_TYPES, WebhookRegistry, WebhookSubscription

__all__ = [
    "EVENT_TYPES",
    "InvalidSignature",
    "WebhookDispatcher",
    "WebhookRegistry",
    "WebhookSubscription",
    "backoff_delay",
    "delivery_log",
    "sign",
    "verify",
]
