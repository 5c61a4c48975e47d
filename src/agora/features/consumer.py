"""The ``features`` consumer group on ``interaction.recorded``.

Takes batches from the bus (``FeatureSettings.stream_batch``), aggregates them with
:class:`~agora.features.stream.StreamAggregator`, writes online, then acks the batch.
A batch that fails is given back for redelivery as a whole (the aggregator skips the
events it already counted). Between batches it also mirrors catalog changes of assets
(stock status, price, category) online (:mod:`agora.features.catalog_mirror`).
``agora worker`` and the in-process workers run
:meth:`StreamConsumer.run_forever`; tests call :meth:`StreamConsumer.drain`.

Example:
    >>> consumer = platform.stream_consumer("w1")  # doctest: +SKIP
    >>> consumer.drain()  # doctest: +SKIP
    12
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from agora.bus.base import Topics
from agora.bus.consumer import backoff_s
from agora.features.catalog_mirror import mirror_pending
from agora.features.leader import FileLease, Lease, RedisLease
from agora.features.redis_store import RedisOnlineStore
from agora.features.stream import StreamAggregator
from agora.ops.metrics import EVENTS_HANDLED
from agora.storage.tables import InteractionRow

if TYPE_CHECKING:
    from agora.bus.base import EventBus
    from agora.config import Settings
    from agora.features.overrides import OverrideStore
    from agora.features.service import FeatureStore
    from agora.storage.database import Database

log = logging.getLogger(__name__)

FEATURES_GROUP = "features"
REFRESH_S = 10.0


class StreamConsumer:
    """Consumes ``interaction.recorded`` for the feature store (see module doc)."""

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        features: FeatureStore,
        overrides: OverrideStore,
        settings: Settings,
        *,
        name: str,
    ) -> None:
        """Reads interactions from ``bus`` (and the catalog ``db`` at warm start) into
        ``features``; settles expired ``overrides`` between batches. ``settings``:
        its ``features`` and ``bus`` sections and ``data_dir`` (the file lease)."""
        self.db, self.bus, self.features, self.overrides = db, bus, features, overrides
        self.settings = settings
        self.name = name
        self.aggregator = self._fresh_aggregator()
        self._refreshed = time.monotonic()

    def _fresh_aggregator(self) -> StreamAggregator:
        fs = self.features
        return StreamAggregator(fs.online, self.settings.features, fs.offline)

    def run_once(self, block_ms: int = 500) -> int:
        """Consume, aggregate and ack one batch; returns deliveries handled."""
        bus = self.bus
        deliveries = bus.consume(
            Topics.INTERACTION_RECORDED,
            FEATURES_GROUP,
            self.name,
            max_count=self.settings.features.stream_batch,
            block_ms=block_ms,
        )
        if not deliveries:
            return 0
        try:
            self.aggregator.apply(
                [d.event.payload for d in deliveries], [d.event.id for d in deliveries]
            )
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.exception("feature aggregation failed for %d events", len(deliveries))
            for d in deliveries:
                last = d.attempt >= self.settings.bus.max_attempts
                delay = None if last else backoff_s(d.attempt, self.settings.bus)
                bus.nack(d, error, retry_in_s=delay)
            EVENTS_HANDLED.labels(
                topic=Topics.INTERACTION_RECORDED, group=FEATURES_GROUP, outcome="retry"
            ).inc(len(deliveries))
            return len(deliveries)
        bus.ack_many(deliveries)
        EVENTS_HANDLED.labels(
            topic=Topics.INTERACTION_RECORDED, group=FEATURES_GROUP, outcome="ok"
        ).inc(len(deliveries))
        return len(deliveries)

    def drain(self) -> int:
        """Process everything queued now, in this thread; flush the offline log. Returns
        the interaction events handled (catalog changes are mirrored too, not counted)."""
        total = 0
        while True:
            n = self.run_once(block_ms=0)
            total += n
            if n + mirror_pending(self.bus, self.db, self.features.online, self.name) == 0:
                break
        self.aggregator.flush()
        return total

    def warm_start(self, hours: float = 24.0) -> int:
        """Rebuild the windows from the catalog's recent interactions (after a restart);
        writes nothing offline: those rows were logged when first processed."""
        since = datetime.now(UTC) - timedelta(hours=hours)
        q = (
            select(InteractionRow)
            .where(InteractionRow.ts >= since)
            .order_by(InteractionRow.ts)
            .execution_options(yield_per=5000)
        )
        n = 0
        with self.db.session() as s:
            batch, ids = [], []
            for row in s.scalars(q):
                ids.append(row.event_id)  # remembered: a redelivery of these is skipped
                batch.append(
                    {"user_id": row.user_id, "asset_id": row.asset_id, "type": row.type,
                     "ts": row.ts.timestamp(), "value": row.value, "context": row.context}
                )  # fmt: skip
                if len(batch) >= 5000:
                    n += self.aggregator.apply(batch, ids, log_offline=False)
                    batch, ids = [], []
            n += self.aggregator.apply(batch, ids, log_offline=False) if batch else 0
        return n

    def lease(self) -> Lease:
        """The single-aggregator lease (see :mod:`agora.features.leader`)."""
        online = self.features.online
        if isinstance(online, RedisOnlineStore):
            return RedisLease(online.client, f"{online.prefix}:features:stream-leader")
        return FileLease(self.settings.data_dir / "features" / "stream.lock")

    def run_forever(self, stop: threading.Event) -> None:
        """Consume while holding the lease, until ``stop``; bus failures back off and
        retry; overrides expiry and window refresh run between batches."""
        lease = self.lease()
        while not stop.is_set() and not lease.acquire():
            stop.wait(REFRESH_S / 2)  # another process aggregates; take over if it stops
        if stop.is_set():
            return
        self.aggregator = self._fresh_aggregator()  # the windows are rebuilt below
        try:
            self.warm_start()
        except Exception:
            log.exception("feature windows warm start failed; starting empty")
        failures = 0
        while not stop.is_set():
            try:
                if not lease.acquire():  # lost it (a long stall): hand over, start again
                    self.aggregator.flush()
                    return self.run_forever(stop)
                self.run_once()
                mirror_pending(self.bus, self.db, self.features.online, self.name)
                if time.monotonic() - self._refreshed >= REFRESH_S:
                    self.aggregator.refresh()
                    self.aggregator.flush()
                    self.overrides.settle_expired()
                    self._refreshed = time.monotonic()
                failures = 0
            except Exception:
                failures += 1
                log.exception("feature stream consumer %s failed", self.name)
                stop.wait(backoff_s(failures, self.settings.bus))
        self.aggregator.flush()
        lease.release()
