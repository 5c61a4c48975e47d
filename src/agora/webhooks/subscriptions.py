"""Webhook subscriptions: a URL, the event types it wants, and a signing secret.

The secret is returned once, at creation, and kept in the catalog in clear:
unlike an API key it must be *used* (to sign every delivery), so it cannot be
stored as a hash. Receivers verify deliveries with ``agora.webhooks.signing.verify``.

Example:
    >>> registry = WebhookRegistry(db)  # doctest: +SKIP
    >>> sub = registry.create("https://shop.example/hooks", ["asset.processed"],
    ...                       actor="key:ab12")  # doctest: +SKIP
    >>> sub.secret.startswith("whsec_")  # doctest: +SKIP
    True
"""

from __future__ import annotations

import builtins
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select

from agora.errors import InvalidInput, NotFound
from agora.storage.database import Database
from agora.storage.tables import WebhookSubscriptionRow, stored_utc
from agora.webhooks.events import EVENT_TYPES

SECRET_PREFIX = "whsec_"
MAX_URL_LENGTH = 2048


@dataclass(frozen=True)
class WebhookSubscription:
    """A subscription; ``secret`` is set only on the object ``create`` returns."""

    id: str
    url: str
    event_types: list[str]
    active: bool
    created_by: str | None
    created_at: datetime
    secret: str | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the API (the secret only when present)."""
        out: dict[str, Any] = {
            "id": self.id,
            "url": self.url,
            "event_types": self.event_types,
            "active": self.active,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }
        if self.secret is not None:
            out["secret"] = self.secret
        return out


def _from_row(row: WebhookSubscriptionRow, *, secret: str | None = None) -> WebhookSubscription:
    return WebhookSubscription(
        row.id,
        row.url,
        list(row.event_types),
        row.active,
        row.created_by,
        stored_utc(row.created_at),
        secret,
    )


def validate_url(url: str) -> str:
    """An absolute http(s) URL with a host, or ``InvalidInput``."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("webhook url is required")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"webhook url is longer than {MAX_URL_LENGTH} characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise InvalidInput(f"webhook url {url!r} is not a valid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        raise InvalidInput(f"webhook url must use http or https, not {parsed.scheme or 'none'!r}")
    if not parsed.host:
        raise InvalidInput(f"webhook url {url!r} has no host")
    return url


def validate_event_types(event_types: list[str]) -> list[str]:
    """Known, de-duplicated, sorted event types, or ``InvalidInput`` naming the bad ones."""
    if not event_types:
        raise InvalidInput(f"event_types must name at least one of {sorted(EVENT_TYPES)}")
    unknown = sorted({t for t in event_types if t not in EVENT_TYPES})
    if unknown:
        raise InvalidInput(
            f"unknown event types {unknown}; choose from {sorted(EVENT_TYPES)}", unknown=unknown
        )
    return sorted(set(event_types))


class WebhookRegistry:
    """Create, list, read and delete webhook subscriptions."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self, url: str, event_types: list[str], actor: str | None, secret: str | None = None
    ) -> WebhookSubscription:
        """Validate and store a subscription; the returned object carries the secret."""
        url = validate_url(url)
        types = validate_event_types(event_types)
        if secret is not None and len(secret) < 16:
            raise InvalidInput("a webhook secret must be at least 16 characters")
        secret = secret or SECRET_PREFIX + secrets.token_urlsafe(32)
        row = WebhookSubscriptionRow(
            id="wh_" + secrets.token_hex(8),
            url=url,
            event_types=types,
            secret=secret,
            active=True,
            created_by=actor,
            created_at=datetime.now(UTC),
        )
        with self.db.session() as s:
            s.add(row)
        return _from_row(row, secret=secret)

    def list(self) -> list[WebhookSubscription]:
        """Every subscription, oldest first (no secrets)."""
        with self.db.session() as s:
            rows = s.scalars(
                select(WebhookSubscriptionRow).order_by(WebhookSubscriptionRow.created_at)
            ).all()
            return [_from_row(r) for r in rows]

    def get(self, subscription_id: str) -> WebhookSubscription:
        """One subscription (no secret) or ``NotFound``."""
        with self.db.session() as s:
            row = s.get(WebhookSubscriptionRow, subscription_id)
            if row is None:
                raise NotFound(f"webhook subscription {subscription_id!r} not found")
            return _from_row(row)

    def delete(self, subscription_id: str) -> None:
        """Remove a subscription and (by cascade) its delivery log; pending
        deliveries are never sent."""
        with self.db.session() as s:
            row = s.get(WebhookSubscriptionRow, subscription_id)
            if row is None:
                raise NotFound(f"webhook subscription {subscription_id!r} not found")
            s.delete(row)

    def subscribers(self, event_type: str) -> builtins.list[tuple[str, str]]:
        """(id, url) of the active subscriptions to ``event_type``.

        Filtered in Python: JSON-array containment differs between SQLite and
        PostgreSQL, and a platform has tens of subscriptions, not millions.
        """
        with self.db.session() as s:
            rows = s.execute(
                select(
                    WebhookSubscriptionRow.id,
                    WebhookSubscriptionRow.url,
                    WebhookSubscriptionRow.event_types,
                ).where(WebhookSubscriptionRow.active.is_(True))
            ).all()
        return [(r.id, r.url) for r in rows if event_type in (r.event_types or [])]
