"""The consumer loop: idempotent handling, retries with backoff, dead letters.

Delivery is at-least-once, so every handler runs behind an idempotency ledger
keyed by (group, event id): a redelivery of an event the group already
handled is acked without calling the handler again. A failing handler is
retried with exponential backoff and jitter; after ``max_attempts`` the event
goes to the dead-letter stream. A handler exception never ends the loop.

A consumer with a ``batch_handler`` (the post-upload pipeline) gathers up to
``max_count`` deliveries, waiting at most ``linger_ms`` for more once the
first has arrived, and hands the new ones to the batch handler at once; it
returns one entry per event (None, or the exception that event failed with),
and each delivery is then acked, retried or dead-lettered on its own.

Example:
    >>> import tempfile, threading
    >>> from agora.bus.embedded import EmbeddedBus
    >>> from agora.config import BusSettings
    >>> bus = EmbeddedBus(f"memory://?path={tempfile.mkdtemp()}/bus.db")
    >>> seen = []
    >>> consumer = Consumer(bus, "asset.uploaded", "pipeline", lambda e: seen.append(e.id),
    ...                     name="w1", settings=BusSettings())
    >>> bus.publish(Event(topic="asset.uploaded", payload={}, id="e1"))
    >>> consumer.run_once(block_ms=0), seen
    (1, ['e1'])
"""

from __future__ import annotations

import functools
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from agora.bus.base import Delivery, Event, EventBus
from agora.config import BusSettings
from agora.ops.metrics import EVENTS_HANDLED, QUEUE_DEPTH
from agora.storage.database import Database
from agora.storage.tables import ProcessedEventRow

log = logging.getLogger(__name__)

Handler = Callable[[Event], None]
#: Handles a batch; one entry per event: None (done) or the exception it failed with.
BatchHandler = Callable[[list[Event]], list[Exception | None]]


class IdempotencyLedger(Protocol):
    """Remembers which events a group has already handled."""

    def seen(self, group: str, event_id: str) -> bool:
        """True when ``group`` already handled ``event_id``."""
        ...

    def mark(self, group: str, event_id: str) -> None:
        """Record that ``group`` handled ``event_id`` (idempotent)."""
        ...


class SqlIdempotencyLedger:
    """Ledger in the catalog's ``processed_events`` table.

    Example:
        >>> from agora.storage import migrate
        >>> db = Database.open("sqlite:///:memory:")
        >>> migrate.upgrade(db)
        >>> ledger = SqlIdempotencyLedger(db)
        >>> ledger.mark("pipeline", "e1"); ledger.mark("pipeline", "e1")
        >>> ledger.seen("pipeline", "e1"), ledger.seen("search", "e1")
        (True, False)
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def seen(self, group: str, event_id: str) -> bool:
        with self.db.session() as s:
            row = s.execute(
                select(ProcessedEventRow.event_id).where(
                    ProcessedEventRow.group == group, ProcessedEventRow.event_id == event_id
                )
            ).first()
        return row is not None

    def mark(self, group: str, event_id: str) -> None:
        try:
            with self.db.session() as s:
                s.add(ProcessedEventRow(group=group, event_id=event_id))
        except IntegrityError:
            pass  # another consumer of the group marked it first: same outcome


def backoff_s(attempt: int, settings: BusSettings, rng: random.Random | None = None) -> float:
    """Delay before retry number ``attempt`` (1 = after the first failure).

    ``backoff_base_s * 2**(attempt-1)`` capped at ``backoff_max_s``, scaled by a
    random factor in [0.5, 1] so failing consumers do not retry in lockstep.

    Example:
        >>> s = BusSettings(backoff_base_s=1.0, backoff_max_s=10.0)
        >>> 2.0 <= backoff_s(3, s) <= 4.0, backoff_s(20, s) <= 10.0
        (True, True)
    """
    raw = settings.backoff_base_s * 2 ** min(max(attempt - 1, 0), 62)
    capped = min(raw, settings.backoff_max_s)
    return float(capped * (0.5 + 0.5 * (rng or random).random()))


class Consumer:
    """Runs ``handler`` for every event of ``topic`` as a member of ``group``."""

    def __init__(
        self,
        bus: EventBus,
        topic: str,
        group: str,
        handler: Handler,
        *,
        name: str,
        settings: BusSettings,
        ledger: IdempotencyLedger | None = None,
        depth_interval_s: float = 1.0,
        rng: random.Random | None = None,
        batch_handler: BatchHandler | None = None,
        linger_ms: int = 0,
    ) -> None:
        """``batch_handler``: handle the new events of a batch together (``handler``
        stays the one-event path); ``linger_ms``: how long to wait for a batch to fill."""
        self.bus, self.topic, self.group, self.handler = bus, topic, group, handler
        self.batch_handler, self.linger_ms = batch_handler, linger_ms
        self.name, self.settings, self.ledger = name, settings, ledger
        self.depth_interval_s = depth_interval_s
        self._rng = rng or random.Random()
        self._depth_at = 0.0

    def run_once(self, max_count: int = 10, block_ms: int = 1000) -> int:
        """Consume and settle one batch; returns how many deliveries were handled.

        Successful deliveries are acked together at the end of the batch: a
        crash before that only causes redeliveries, which the ledger skips.
        """
        deliveries = self._gather(max_count, block_ms)
        errors = self._run_batch(deliveries)
        done: list[Delivery] = []
        for delivery in deliveries:
            run = None
            if delivery.event.id in errors:
                run = functools.partial(_reraise, errors[delivery.event.id])
            outcome = self._settle_failure_or_defer(delivery, run)
            if outcome in ("ok", "duplicate"):
                done.append(delivery)
            EVENTS_HANDLED.labels(topic=self.topic, group=self.group, outcome=outcome).inc()
        self.bus.ack_many(done)
        if time.monotonic() - self._depth_at >= self.depth_interval_s:
            self.refresh_depth()
        return len(deliveries)

    def _gather(self, max_count: int, block_ms: int) -> list[Delivery]:
        deliveries = self.bus.consume(
            self.topic, self.group, self.name, max_count=max_count, block_ms=block_ms
        )
        if self.batch_handler is None or not deliveries or self.linger_ms <= 0:
            return deliveries
        deadline = time.monotonic() + self.linger_ms / 1000
        while len(deliveries) < max_count and (left := deadline - time.monotonic()) > 0:
            more = self.bus.consume(
                self.topic, self.group, self.name,
                max_count=max_count - len(deliveries), block_ms=max(1, int(left * 1000)),
            )  # fmt: skip
            if not more:
                break
            deliveries += more
        return deliveries

    def _run_batch(self, deliveries: list[Delivery]) -> dict[str, Exception | None]:
        """Run the batch handler over the deliveries that need it; each event's error."""
        if self.batch_handler is None or not deliveries:
            return {}
        fresh = [
            d for d in deliveries
            if d.attempt <= self.settings.max_attempts
            and not (self.ledger is not None and self.ledger.seen(self.group, d.event.id))
        ]  # fmt: skip
        if not fresh:
            return {}
        events = [d.event for d in fresh]
        try:
            results = self.batch_handler(events)
        # The whole batch failed (the catalog is down): every event is retried.
        except Exception as exc:  # noqa: BLE001
            results = [exc] * len(events)
        return {e.id: r for e, r in zip(events, results, strict=True)}

    def handle(self, delivery: Delivery) -> str:
        """Settle one delivery; returns the outcome: ok, duplicate, retry or dead_letter."""
        outcome = self._settle_failure_or_defer(delivery)
        if outcome in ("ok", "duplicate"):
            self.bus.ack(delivery)
        return outcome

    def _settle_failure_or_defer(
        self, delivery: Delivery, run: Callable[[], None] | None = None
    ) -> str:
        """Run the handler (or ``run``: the batch's result for this event); nack
        failures now, leave the ack of successes to the caller."""
        event = delivery.event
        if self.ledger is not None and self.ledger.seen(self.group, event.id):
            return "duplicate"
        if delivery.attempt > self.settings.max_attempts:
            # Redelivered past the limit without a nack: consumers died while
            # handling it (a crash-looping poison message). Stop here.
            self.bus.nack(
                delivery, "max attempts exceeded: consumer died while handling", retry_in_s=None
            )
            return "dead_letter"
        try:
            if run is not None:
                run()
            else:
                self.handler(event)
        # Any handler failure is nacked and retried (or dead-lettered): the consumer lives on.
        except Exception as exc:  # noqa: BLE001
            error = f"{type(exc).__name__}: {exc}"
            if delivery.attempt >= self.settings.max_attempts:
                log.error(
                    "dead-lettering %s on %s/%s after %d attempts: %s",
                    event.id,
                    self.topic,
                    self.group,
                    delivery.attempt,
                    error,
                )
                self.bus.nack(delivery, error, retry_in_s=None)
                return "dead_letter"
            delay = backoff_s(delivery.attempt, self.settings, self._rng)
            log.warning(
                "retrying %s on %s/%s in %.2fs (attempt %d): %s",
                event.id,
                self.topic,
                self.group,
                delay,
                delivery.attempt,
                error,
            )
            self.bus.nack(delivery, error, retry_in_s=delay)
            return "retry"
        # Mark before ack: a crash in between leads to a skipped duplicate, not a rerun.
        if self.ledger is not None:
            self.ledger.mark(self.group, event.id)
        return "ok"

    def refresh_depth(self) -> int:
        """Publish the group's lag to the ``agora_bus_queue_depth`` gauge."""
        depth = self.bus.depth(self.topic, self.group)
        QUEUE_DEPTH.labels(topic=self.topic, group=self.group).set(depth)
        self._depth_at = time.monotonic()
        return depth

    def run_forever(self, stop: threading.Event, *, max_count: int = 10) -> None:
        """Consume until ``stop`` is set; backend errors are logged and retried."""
        failures = 0
        while not stop.is_set():
            try:
                self.run_once(max_count=max_count, block_ms=500)
                failures = 0
            except Exception:
                # The bus itself failed (Redis down, disk full): back off, keep going.
                failures += 1
                log.exception("consumer %s on %s/%s failed", self.name, self.topic, self.group)
                stop.wait(backoff_s(failures, self.settings, self._rng))


def _reraise(error: Exception | None) -> None:
    """The batch handler's result for one event, replayed where the handler runs."""
    if error is not None:
        raise error
