"""Outgoing webhooks: subscriptions, signed deliveries, retries, delivery log.

The names are imported on first use (PEP 562), so importing the event types
(``agora.webhooks.events``, shared with the API schemas and the SDK) does not
load the dispatcher, HTTP client or database layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agora.lazy import lazy_exports

if TYPE_CHECKING:
    from agora.webhooks.dispatch import WebhookDispatcher, backoff_delay, delivery_log
    from agora.webhooks.events import EVENT_TYPES
    from agora.webhooks.signing import InvalidSignature, sign, verify
    from agora.webhooks.subscriptions import WebhookRegistry, WebhookSubscription

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
_HOMES = {
    "EVENT_TYPES": "agora.webhooks.events",
    "InvalidSignature": "agora.webhooks.signing",
    "WebhookDispatcher": "agora.webhooks.dispatch",
    "WebhookRegistry": "agora.webhooks.subscriptions",
    "WebhookSubscription": "agora.webhooks.subscriptions",
    "backoff_delay": "agora.webhooks.dispatch",
    "delivery_log": "agora.webhooks.dispatch",
    "sign": "agora.webhooks.signing",
    "verify": "agora.webhooks.signing",
}


__getattr__ = lazy_exports(__name__, _HOMES)
