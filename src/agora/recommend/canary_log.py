"""Online CTR of recommender versions under canary: served lists, then their engagement.

While a recommender has a challenger in canary, the personal lists served
(computed or from the cache) to its two comparison groups are logged in
``reco_canary_servings``: the challenger's share of users and an equal slice
of the champion's (``CanaryRouter.compared``), so the groups match in size
and the log stays within twice the canary share of the traffic.
:func:`settle_canary_servings` (the scheduler's ``settle_rewards`` task)
settles each list once the attribution window has passed: its assets are
the version's impressions, and those the user engaged with (click,
favourite, add to cart, purchase) within the window its clicks, both
reported through ``platform.canary_monitor.record_outcome``.
The canary judge then compares the two versions' CTR
(``mlops.canary_min_ctr_ratio``), as for the ranking models.

Impressions are counted at settlement, with the clicks, so a version's CTR
is over lists whose window is complete, whichever process served them.

Logging must not block the API's event loop (cache hits are answered there):
:meth:`CanaryServingLog.add` only appends to a buffer, which a daemon thread
writes in batches every ``flush_every_s``.

Example:
    >>> log = CanaryServingLog(db, in_canary=lambda key, user: True)  # doctest: +SKIP
    >>> log.add("u1", "reco-ease@3", ["a1", "a2"]); log.flush()  # doctest: +SKIP
    1
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select

from agora.domain import ModelRef
from agora.mlops.orchestrator import rowcount
from agora.recommend.bandit import ATTRIBUTION_WINDOW, ENGAGEMENT
from agora.recommend.base import Recommendations
from agora.recommend.tables import CanaryServingRow
from agora.storage.tables import InteractionRow

if TYPE_CHECKING:
    from agora.runtime import Platform

log = logging.getLogger(__name__)
MAX_BUFFER = 50_000  # past this (the database unreachable for long), new lists are dropped
KEEP_SETTLED = timedelta(days=7)  # settled lists kept for inspection, then deleted


class CanaryServingLog:
    """Buffered writer of the lists served by versions under canary."""

    def __init__(
        self,
        db: Any,
        in_canary: Callable[[str, str], bool],
        *,
        flush_every_s: float = 2.0,
    ) -> None:
        """``in_canary(model_key, user_id)``: whether the user is in a comparison group of
        the canary of that version's model (no I/O)."""
        self.db = db
        self.in_canary = in_canary
        self.flush_every_s = flush_every_s
        self._buffer: list[CanaryServingRow] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None  # running while the buffer is not empty

    def served(self, recs: Recommendations) -> None:
        """Log ``recs`` when it went to a canary comparison group of its version's model."""
        user = recs.user_id
        if user and recs.personalized and not recs.fallback and self.in_canary(recs.model, user):
            self.add(user, recs.model, [i.asset_id for i in recs.items])

    def add(self, user_id: str, model_key: str, items: Sequence[str]) -> None:
        """Log one served list (no I/O: written by the flush thread)."""
        if not items:
            return
        row = CanaryServingRow(
            id=uuid.uuid4().hex,
            user_id=user_id,
            model=model_key,
            items=list(items),
            served_at=datetime.now(UTC),
            settled=False,
        )
        with self._lock:
            if len(self._buffer) >= MAX_BUFFER:
                return
            self._buffer.append(row)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="reco-canary-log", daemon=True
                )
                self._thread.start()

    def flush(self) -> int:
        """Write the buffered lists; returns how many (kept for the next try on failure)."""
        with self._lock:
            rows, self._buffer = self._buffer, []
        if not rows:
            return 0
        try:
            with self.db.session() as s, s.begin():
                s.add_all(rows)
        except Exception:
            with self._lock:
                self._buffer = rows + self._buffer
            raise
        return len(rows)

    def _loop(self) -> None:
        while True:
            time.sleep(self.flush_every_s)
            try:
                self.flush()
            except Exception:
                log.exception("canary servings not written; retrying")
            with self._lock:
                if not self._buffer:  # idle: the next add starts a new thread
                    self._thread = None
                    return


def settle_canary_servings(
    platform: Platform,
    *,
    now: datetime | None = None,
    window: timedelta = ATTRIBUTION_WINDOW,
    limit: int = 10_000,
    keep: timedelta = KEEP_SETTLED,
) -> dict[str, int]:
    """Report the impressions and engaged assets of lists whose window has passed;
    settled lists older than ``keep`` are deleted (their figures live on in
    ``canary_observations``)."""
    now = now or datetime.now(UTC)
    db = platform.db
    with db.session() as s:
        pending = s.scalars(
            select(CanaryServingRow)
            .where(CanaryServingRow.settled.is_(False), CanaryServingRow.served_at <= now - window)
            .order_by(CanaryServingRow.served_at)
            .limit(limit)
        ).all()
    lists = clicks = 0
    monitor = platform.canary_monitor
    for serving in pending:
        served_at = _aware(serving.served_at)
        items = list(serving.items or [])
        with db.session() as s:
            engaged = s.scalar(
                select(func.count(func.distinct(InteractionRow.asset_id))).where(
                    InteractionRow.user_id == serving.user_id,
                    InteractionRow.asset_id.in_(items or [""]),
                    InteractionRow.type.in_(ENGAGEMENT),
                    InteractionRow.ts >= served_at,
                    InteractionRow.ts <= served_at + window,
                )
            )
        with db.session() as s, s.begin():
            row = s.get(CanaryServingRow, serving.id)
            if row is None or row.settled:
                continue  # another worker settled it
            row.settled, row.clicks = True, int(engaged or 0)
        name, _, version = serving.model.partition("@")
        monitor.record_outcome(
            ModelRef(name, version), impressions=len(items), clicks=int(engaged or 0)
        )
        lists += 1
        clicks += int(engaged or 0)
    if lists:
        monitor.flush()
    with db.session() as s, s.begin():
        purged = rowcount(
            s.execute(
                delete(CanaryServingRow).where(
                    CanaryServingRow.settled.is_(True), CanaryServingRow.served_at < now - keep
                )
            )
        )
    return {"lists": lists, "clicks": clicks, "purged": purged}


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)
