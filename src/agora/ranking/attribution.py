"""Online CTR per model version: clicks attributed to the versions that ranked them.

A ``click`` on ``interaction.recorded`` is matched to the latest organic slot
served to the same user for the same asset within the attribution window
before it (the feature log, ``ranking_served``); the request's model versions
(``ranking_requests.models``) each get the click through
``platform.canary_monitor.record_outcome``. Impressions are reported when the
list is served (``RankingService``), so per-version CTR = clicks / served
organic slots, which the canary judge compares between champion and challenger.

The ``ranking-attribution`` consumer group runs with the task runners of
every worker process (``agora worker`` and the in-process workers of ``agora
serve``; ``agora.mlops.background``).

Example:
    >>> platform.attribution_consumer("w1").drain()  # doctest: +SKIP
    500
    >>> attribute_clicks(db, monitor, [event.payload], window=timedelta(hours=1))  # doctest: +SKIP
    {'clicks': 1, 'attributed': 1}
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from agora.bus.base import Topics
from agora.domain import ModelRef
from agora.ranking.models import PCTR_MODEL, PCVR_MODEL, RANKER_MODEL
from agora.ranking.tables import RankingRequestRow, RankingServedRow

if TYPE_CHECKING:
    from agora.bus.base import EventBus
    from agora.mlops.canary import CanaryMonitor
    from agora.storage.database import Database

log = logging.getLogger(__name__)
ATTRIBUTION_GROUP = "ranking-attribution"
RANKING_MODELS = frozenset({PCTR_MODEL, PCVR_MODEL, RANKER_MODEL})


def _ts(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def served_versions(
    db: Database, user_id: str, asset_id: str, at: datetime, window: timedelta
) -> list[ModelRef]:
    """Ranking model versions of the latest organic slot of ``asset_id`` served to
    ``user_id`` in ``[at - window, at]`` (empty when none)."""
    with db.session() as s:
        models = s.scalar(
            select(RankingRequestRow.models)
            .join(RankingServedRow, RankingServedRow.request_id == RankingRequestRow.request_id)
            .where(
                RankingServedRow.user_id == user_id,
                RankingServedRow.asset_id == asset_id,
                RankingServedRow.sponsored.is_(False),
                RankingServedRow.ts >= at - window,
                RankingServedRow.ts <= at,
            )
            .order_by(RankingServedRow.ts.desc())
            .limit(1)
        )
    refs = []
    for value in (models or {}).values():
        name, _, version = str(value).partition("@")
        if name in RANKING_MODELS and version:
            refs.append(ModelRef(name, version))
    return refs


def attribute_clicks(
    db: Database,
    monitor: CanaryMonitor,
    payloads: Iterable[Mapping[str, Any]],
    *,
    window: timedelta,
) -> dict[str, int]:
    """Credit each click among ``payloads`` to the versions (in ``db``'s served log)
    that served it within ``window`` before the click, on ``monitor``."""
    clicks = attributed = 0
    for p in payloads:
        if p.get("type") != "click" or not p.get("user_id") or not p.get("asset_id"):
            continue
        at = _ts(p.get("ts"))
        if at is None:
            continue
        clicks += 1
        refs = served_versions(db, str(p["user_id"]), str(p["asset_id"]), at, window)
        for ref in refs:
            monitor.record_outcome(ref, clicks=1)
        attributed += bool(refs)
    return {"clicks": clicks, "attributed": attributed}


class AttributionConsumer:
    """The ``ranking-attribution`` group on ``interaction.recorded``, in batches.

    Most interaction events are not clicks, so events are taken in batches
    and acked together without a per-event ledger write; a redelivered batch
    can count a click twice, which only nudges a monitoring figure.
    """

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        monitor: CanaryMonitor,
        *,
        window: timedelta,
        name: str,
        batch: int = 500,
    ) -> None:
        """Clicks come from ``bus``; see :func:`attribute_clicks` for the rest."""
        self.db, self.bus, self.monitor, self.window = db, bus, monitor, window
        self.name = name
        self.batch = batch

    def run_once(self, block_ms: int = 500) -> int:
        """Attribute one batch; returns the deliveries handled."""
        bus = self.bus
        deliveries = bus.consume(
            Topics.INTERACTION_RECORDED,
            ATTRIBUTION_GROUP,
            self.name,
            max_count=self.batch,
            block_ms=block_ms,
        )
        if deliveries:
            payloads = [d.event.payload for d in deliveries]
            attribute_clicks(self.db, self.monitor, payloads, window=self.window)
            bus.ack_many(deliveries)
        return len(deliveries)

    def drain(self) -> int:
        """Attribute everything pending now (tests, CLI)."""
        total = 0
        while handled := self.run_once(block_ms=0):
            total += handled
        return total

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # retried on the next round; the batch is redelivered
                log.exception("ranking attribution failed")
                stop.wait(1.0)


__all__ = ["ATTRIBUTION_GROUP", "AttributionConsumer", "attribute_clicks", "served_versions"]
