"""Webhook deliveries: durable rows, signed HTTP POSTs, retries with backoff.

``enqueue`` writes one ``webhook_deliveries`` row per matching subscription
(idempotent on subscription + event id, so a redelivered bus event never
produces a second webhook). ``deliver_due`` sends the rows whose time has
come. Everything lives in the catalog, so deliveries survive restarts and a
receiver that was down gets them when it comes back.

Several dispatchers (API worker processes, worker replicas) may run at once:
each claims a row with a conditional UPDATE that pushes ``next_attempt_at``
past the send timeout (a lease). Only the process whose UPDATE matched sends;
if it dies mid-send, the lease expires and another one retries. Delivery is
therefore at-least-once; receivers de-duplicate by the ``Agora-Delivery`` or
event ``id``.

Backoff after the n-th failure: ``min(backoff_max_s, backoff_base_s * 2**(n-1))``
with equal jitter (half fixed, half random) so retries from one outage spread
out; after ``max_attempts`` the delivery is ``failed``.

Example:
    >>> dispatcher = WebhookDispatcher(platform.db, platform.settings)  # doctest: +SKIP
    >>> dispatcher.enqueue("asset.processed", event.id, {"asset_id": "a1"})  # doctest: +SKIP
    1
    >>> dispatcher.deliver_due()  # doctest: +SKIP
    1
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from agora import __version__
from agora.bus.base import Event
from agora.config import Settings, WebhookSettings
from agora.errors import InvalidInput, NotFound
from agora.ops.metrics import WEBHOOK_DELIVERIES
from agora.storage.database import Database
from agora.storage.tables import WebhookDeliveryRow, WebhookSubscriptionRow, stored_utc
from agora.webhooks.events import EVENT_TYPES
from agora.webhooks.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign
from agora.webhooks.subscriptions import WebhookRegistry

log = logging.getLogger(__name__)
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
DELIVERY_STATUSES = (PENDING, DELIVERED, FAILED)
MAX_ERROR_CHARS = 500


def utc_now() -> datetime:
    """The wall clock, aware UTC: the dispatcher's default clock."""
    return datetime.now(UTC)


def backoff_delay(attempts: int, base_s: float, max_s: float, rng: random.Random) -> float:
    """Seconds to wait after ``attempts`` failures (>= 1): exponential, equal jitter, capped.

    Example:
        >>> 0.5 <= backoff_delay(1, 1.0, 300.0, random.Random(0)) <= 1.0
        True
    """
    ceiling = min(max_s, base_s * 2 ** max(0, attempts - 1))
    return float(ceiling / 2 + rng.uniform(0, ceiling / 2))


@dataclass(frozen=True)
class _Claimed:
    id: int
    event_id: str
    event_type: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int
    url: str
    secret: str


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def envelope(event_id: str, event_type: str, created_at: datetime, data: dict[str, Any]) -> bytes:
    """The JSON body every receiver gets: ``{id, type, created_at, data}``."""
    return orjson.dumps(
        {
            "id": event_id,
            "type": event_type,
            "created_at": stored_utc(created_at).isoformat(),
            "data": data,
        }
    )


class WebhookDispatcher:
    """Fans events out to subscriptions and delivers them (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        settings: Settings | WebhookSettings,
        *,
        client: httpx.Client | None = None,
        send_concurrency: int = 8,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        # ``clock`` decides what is due and when a retry comes: tests pass a
        # ManualClock and step through backoff windows instead of waiting them out.
        self.db = db
        self.clock = clock
        self.settings = settings.webhooks if isinstance(settings, Settings) else settings
        self.registry = WebhookRegistry(db)
        self._client = client
        self._own_client = client is None
        self._pool = ThreadPoolExecutor(
            max_workers=send_concurrency, thread_name_prefix="agora-webhook"
        )
        self._rng = random.Random()

    @property
    def client(self) -> httpx.Client:
        # Created on first send: the API process builds a dispatcher only to
        # read the delivery log and should not hold a connection pool for it.
        if self._client is None:
            self._client = httpx.Client(
                timeout=self.settings.timeout_s,
                follow_redirects=False,
                headers={"User-Agent": f"agora-webhooks/{__version__}"},
            )
        return self._client

    # -- fan-out -------------------------------------------------------------------

    def enqueue(self, event_type: str, event_id: str, payload: dict[str, Any]) -> int:
        """One pending delivery per active subscription to ``event_type``; returns how
        many were created (0 for a repeated ``event_id``)."""
        if event_type not in EVENT_TYPES:
            raise InvalidInput(f"unknown webhook event type {event_type!r}")
        subscribers = self.registry.subscribers(event_type)
        if not subscribers:
            return 0
        now = self.clock()
        insert = postgresql.insert if self.db.engine.dialect.name == "postgresql" else sqlite.insert
        created = 0
        with self.db.session() as s:
            for sub_id, _url in subscribers:
                stmt = (
                    insert(WebhookDeliveryRow)
                    .values(
                        subscription_id=sub_id,
                        event_id=event_id,
                        event_type=event_type,
                        payload=payload,
                        status=PENDING,
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=["subscription_id", "event_id"])
                    # RETURNING, not rowcount: psycopg reports -1 for ON CONFLICT inserts.
                    .returning(WebhookDeliveryRow.id)
                )
                created += len(s.execute(stmt).all())
        return created

    def handle_event(self, event: Event) -> int:
        """Bus handler: fan out an event whose topic is a webhook event type
        (``event.id`` is the idempotency key); other topics are ignored."""
        if event.topic not in EVENT_TYPES:
            return 0
        return self.enqueue(event.topic, event.id, event.payload)

    # -- delivery ------------------------------------------------------------------

    def deliver_due(self, limit: int = 50) -> int:
        """Send up to ``limit`` due deliveries; returns how many were attempted."""
        claimed = self._claim(limit)
        if not claimed:
            return 0
        outcomes = list(self._pool.map(self._send, claimed))
        self._record(list(zip(claimed, outcomes, strict=True)))
        return len(claimed)

    def _claim(self, limit: int) -> list[_Claimed]:
        now = self.clock()
        lease_until = now + timedelta(seconds=self.settings.timeout_s * 2 + 30)
        with self.db.session() as s:
            ids = s.scalars(
                select(WebhookDeliveryRow.id)
                .where(
                    WebhookDeliveryRow.status == PENDING, WebhookDeliveryRow.next_attempt_at <= now
                )
                .order_by(WebhookDeliveryRow.next_attempt_at)
                .limit(limit)
            ).all()
            mine = []
            for delivery_id in ids:
                result = s.execute(
                    update(WebhookDeliveryRow)
                    .where(
                        WebhookDeliveryRow.id == delivery_id,
                        WebhookDeliveryRow.status == PENDING,
                        WebhookDeliveryRow.next_attempt_at <= now,
                    )
                    .values(next_attempt_at=lease_until)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    mine.append(delivery_id)
        if not mine:
            return []
        with self.db.session() as s:
            rows = s.execute(
                select(
                    WebhookDeliveryRow, WebhookSubscriptionRow.url, WebhookSubscriptionRow.secret
                )
                .join(
                    WebhookSubscriptionRow,
                    WebhookSubscriptionRow.id == WebhookDeliveryRow.subscription_id,
                )
                .where(WebhookDeliveryRow.id.in_(mine))
            ).all()
        return [
            _Claimed(
                d.id, d.event_id, d.event_type, d.payload, d.created_at, d.attempts, url, secret
            )
            for d, url, secret in rows
        ]

    def _send(self, item: _Claimed) -> _Outcome:
        body = envelope(item.event_id, item.event_type, item.created_at, item.payload)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(item.secret, int(time.time()), body),
            EVENT_HEADER: item.event_type,
            DELIVERY_HEADER: str(item.id),
            "Agora-Delivery-Attempt": str(item.attempts + 1),
        }
        try:
            response = self.client.post(item.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return _Outcome(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS])
        if 200 <= response.status_code < 300:
            return _Outcome(response.status_code, None)
        return _Outcome(
            response.status_code, f"HTTP {response.status_code}: {response.text}"[:MAX_ERROR_CHARS]
        )

    def _record(self, results: list[tuple[_Claimed, _Outcome]]) -> None:
        now = self.clock()
        with self.db.session() as s:
            for item, outcome in results:
                attempts = item.attempts + 1
                values: dict[str, Any] = {
                    "attempts": attempts,
                    "last_status_code": outcome.status_code,
                    "last_error": outcome.error,
                }
                if outcome.ok:
                    values.update(status=DELIVERED, delivered_at=now)
                    result = "delivered"
                elif attempts >= self.settings.max_attempts:
                    values.update(status=FAILED, next_attempt_at=now)
                    result = "failed"
                else:
                    delay = backoff_delay(
                        attempts,
                        self.settings.backoff_base_s,
                        self.settings.backoff_max_s,
                        self._rng,
                    )
                    values.update(next_attempt_at=now + timedelta(seconds=delay))
                    result = "retry"
                s.execute(
                    update(WebhookDeliveryRow)
                    .where(WebhookDeliveryRow.id == item.id)
                    .values(**values)
                )
                WEBHOOK_DELIVERIES.labels(outcome=result).inc()
                log.info(
                    "webhook delivery %s",
                    result,
                    extra={
                        "delivery_id": item.id,
                        "event_type": item.event_type,
                        "event_id": item.event_id,
                        "attempt": attempts,
                        "status_code": outcome.status_code,
                        "error": outcome.error,
                    },
                )

    def run_forever(
        self, stop: threading.Event, *, poll_interval_s: float = 1.0, batch: int = 50
    ) -> None:
        """Deliver until ``stop`` is set; a full batch loops at once, else waits."""
        while not stop.is_set():
            try:
                sent = self.deliver_due(batch)
            except Exception:  # a database blip must not end the loop
                log.exception("webhook delivery pass failed")
                sent = 0
            if sent < batch:
                stop.wait(poll_interval_s)

    def deliveries(
        self, subscription_id: str, *, status: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """A subscription's delivery log, newest first (see ``delivery_log``)."""
        return delivery_log(self.db, subscription_id, status=status, limit=limit)

    def close(self) -> None:
        """Stop the send pool and close the HTTP client it created."""
        self._pool.shutdown(wait=True)
        if self._own_client and self._client is not None:
            self._client.close()


def delivery_log(
    db: Database, subscription_id: str, *, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """A subscription's deliveries, newest first: status, attempts, last status code
    and error, and times (``next_attempt_at`` only while pending).

    Example:
        >>> delivery_log(db, "wh_0123456789abcdef", status="failed")  # doctest: +SKIP
        [{'id': 7, 'status': 'failed', 'attempts': 8, 'last_status_code': 500, ...}]
    """
    if status is not None and status not in DELIVERY_STATUSES:
        raise InvalidInput(f"status must be one of {list(DELIVERY_STATUSES)}")
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be between 1 and 1000")
    with db.session() as s:
        if s.get(WebhookSubscriptionRow, subscription_id) is None:
            raise NotFound(f"webhook subscription {subscription_id!r} not found")
        query = select(WebhookDeliveryRow).where(
            WebhookDeliveryRow.subscription_id == subscription_id
        )
        if status is not None:
            query = query.where(WebhookDeliveryRow.status == status)
        rows = s.scalars(query.order_by(WebhookDeliveryRow.id.desc()).limit(limit)).all()
    return [
        {
            "id": r.id,
            "event_id": r.event_id,
            "event_type": r.event_type,
            "status": r.status,
            "attempts": r.attempts,
            "last_status_code": r.last_status_code,
            "last_error": r.last_error,
            "created_at": stored_utc(r.created_at).isoformat(),
            "next_attempt_at": (
                stored_utc(r.next_attempt_at).isoformat() if r.status == PENDING else None
            ),
            "delivered_at": stored_utc(r.delivered_at).isoformat() if r.delivered_at else None,
        }
        for r in rows
    ]
