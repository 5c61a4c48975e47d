"""Online CTR of recommender versions under canary: served lists, then their engagement.

While a recommender has a challenger in canary, the personal lists the API
returns to its two comparison groups are logged in ``reco_canary_servings``:
the challenger's share of users and an equal slice of the champion's
(``CanaryRouter.compared``), so the groups match in size and the log stays
within twice the canary share of the traffic. Only lists a client received
are logged (the API calls :meth:`CanaryServingLog.served`): the ranking
pipeline's candidate recall and the cache warm-up also call the service, and
no one saw those. A list equal to the one this process last logged for the
same user and version within the attribution window (a reload, a cache hit)
is not logged again, so one engagement is one click (with several API
processes, each logs a repeat once).

:func:`settle_canary_servings` (the scheduler's ``settle_rewards`` task)
settles each list once the attribution window has passed: the assets the
model ranked (not the trending padding) are the version's impressions, those
the user engaged with (click, favourite, add to cart, purchase) within the
window its clicks. Each list is settled once (a conditional update, so two
workers never both count it), in the transaction that writes its figures to
``canary_observations``, stamped with the minute it was served (a canary
started later never counts an earlier canary's lists). The canary judge
then compares the two versions' CTR (``mlops.canary_min_ctr_ratio``), as
for the ranking models.

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
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from agora.domain import ModelRef
from agora.mlops.tables import CanaryObservationRow
from agora.ops.metrics import LATENCY_BUCKETS, MODEL_CLICKS, MODEL_IMPRESSIONS
from agora.recommend.attribution import ATTRIBUTION_WINDOW, engagements
from agora.recommend.base import Recommendations
from agora.recommend.tables import CanaryServingRow
from agora.storage.database import Database, rowcount
from agora.storage.tables import stored_utc

log = logging.getLogger(__name__)
MAX_BUFFER = 50_000  # past this (the database unreachable for long), new lists are dropped
MAX_RECENT = 100_000  # (user, version) pairs remembered to skip re-logging the same list
KEEP_SETTLED = timedelta(days=7)  # settled lists kept for inspection, then deleted
PADDING = frozenset({"trending", "popular"})  # padding sources: no model ranked these


class CanaryServingLog:
    """Buffered writer of the lists served to canary comparison groups."""

    def __init__(
        self,
        db: Any,
        in_canary: Callable[[str, str], bool],
        *,
        flush_every_s: float = 2.0,
        window: timedelta = ATTRIBUTION_WINDOW,
    ) -> None:
        """``in_canary(model_key, user_id)``: whether the user is in a comparison group of
        the canary of that version's model (no I/O)."""
        self.db = db
        self.in_canary = in_canary
        self.flush_every_s = flush_every_s
        self.window_s = window.total_seconds()
        self.dropped = 0  # lists refused since the last flush (buffer full), then logged
        self._buffer: list[dict[str, Any]] = []  # reco_canary_servings rows to insert
        # (user, version) -> (hash of the last list logged, when): a digest, not the list,
        # so 100k pairs cost a few MB.
        self._recent: OrderedDict[tuple[str, str], tuple[int, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None  # running while the buffer is not empty

    def served(self, recs: Recommendations) -> None:
        """Log ``recs``, returned to a client, when its user is in a canary comparison group."""
        user = recs.user_id
        if not user or not recs.personalized or recs.fallback:
            return
        if not self.in_canary(recs.model, user):
            return
        items = tuple(i.asset_id for i in recs.items if i.source not in PADDING)
        now = time.monotonic()
        key = (user, recs.model)
        with self._lock:
            last, digest = self._recent.get(key), hash(items)
            if last is not None and last[0] == digest and now - last[1] < self.window_s:
                return  # the same list again: its engagement is counted once
            self._recent[key] = (digest, now)
            self._recent.move_to_end(key)
            while len(self._recent) > MAX_RECENT:
                self._recent.popitem(last=False)
        self.add(user, recs.model, items)

    def add(self, user_id: str, model_key: str, items: Sequence[str]) -> None:
        """Log one served list (no I/O: written by the flush thread)."""
        if not items:
            return
        row = {
            "id": uuid.uuid4().hex,
            "user_id": user_id,
            "model": model_key,
            "items": list(items),
            "served_at": datetime.now(UTC),
            "settled": False,
        }
        with self._lock:
            if len(self._buffer) >= MAX_BUFFER:
                self.dropped += 1
                return
            self._buffer.append(row)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="reco-canary-log", daemon=True
                )
                self._thread.start()

    def flush(self) -> int:
        """Write the buffered lists; returns how many (kept for the next try on failure).

        A batch refused for a duplicate id (its earlier commit was reported
        failed but landed) is written row by row, skipping the duplicates, so
        one bad row never blocks the log.
        """
        with self._lock:
            rows, self._buffer = self._buffer, []
            dropped, self.dropped = self.dropped, 0
        if dropped:
            log.warning("%d canary lists dropped: the buffer was full", dropped)
        if not rows:
            return 0
        try:
            with self.db.session() as s, s.begin():
                s.execute(insert(CanaryServingRow), rows)
            return len(rows)
        except IntegrityError:
            return self._write_each(rows)
        except Exception:
            self._requeue(rows)
            raise

    def close(self) -> None:
        """Write what is buffered (shutdown); a failure is logged, not raised."""
        try:
            self.flush()
        except Exception:  # the catalog may be gone already: monitoring figures only
            log.exception("canary lists not written at shutdown")

    def _write_each(self, rows: list[dict[str, Any]]) -> int:
        written = 0
        for k, row in enumerate(rows):
            try:
                with self.db.session() as s, s.begin():
                    s.execute(insert(CanaryServingRow), [row])
                written += 1
            except IntegrityError:
                continue  # the duplicate: already written
            except Exception:
                self._requeue(rows[k:])  # the rest waits for the next flush
                raise
        return written

    def _requeue(self, rows: list[dict[str, Any]]) -> None:
        """Put unwritten rows back in front, within ``MAX_BUFFER``."""
        with self._lock:
            kept = (rows + self._buffer)[:MAX_BUFFER]
            self.dropped += len(rows) + len(self._buffer) - len(kept)
            self._buffer = kept

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
    db: Database,
    *,
    now: datetime | None = None,
    window: timedelta = ATTRIBUTION_WINDOW,
    limit: int = 10_000,
    keep: timedelta = KEEP_SETTLED,
) -> dict[str, int]:
    """Settle the lists whose window has passed: impressions and engaged assets per version,
    written with the settlement; settled lists older than ``keep`` are deleted (their
    figures live on in ``canary_observations``)."""
    now = stored_utc(now or datetime.now(UTC)).astimezone(UTC)
    with db.session() as s:
        pending = s.execute(
            select(
                CanaryServingRow.id,
                CanaryServingRow.user_id,
                CanaryServingRow.model,
                CanaryServingRow.items,
                CanaryServingRow.served_at,
            )
            .where(CanaryServingRow.settled.is_(False), CanaryServingRow.served_at <= now - window)
            .order_by(CanaryServingRow.served_at)
            .limit(limit)
        ).all()
    lists = clicks = 0
    if pending:
        engaged = engagements(db, pending, window)
        # Per version and minute served: the judge counts a canary's figures from its
        # start, so a list served before it (an earlier canary) must not land after.
        outcomes: dict[tuple[ModelRef, datetime], tuple[int, int]] = {}
        with db.session() as s, s.begin():
            for row in pending:
                start = stored_utc(row.served_at)
                items = set(row.items or [])
                hits = {
                    a
                    for a, ts in engaged.get(row.user_id, ())
                    if a in items and start <= ts <= start + window
                }
                settled = s.execute(
                    update(CanaryServingRow)
                    .where(CanaryServingRow.id == row.id, CanaryServingRow.settled.is_(False))
                    .values(settled=True, clicks=len(hits))
                )
                if rowcount(settled) != 1:
                    continue  # another worker settled it
                name, _, version = row.model.partition("@")
                bucket = (ModelRef(name, version), start.replace(second=0, microsecond=0))
                seen, clicked = outcomes.get(bucket, (0, 0))
                outcomes[bucket] = (seen + len(items), clicked + len(hits))
                lists += 1
                clicks += len(hits)
            s.add_all(_observations(outcomes))
        for (ref, _), (seen, clicked) in outcomes.items():  # once committed
            MODEL_IMPRESSIONS.labels(ref.name, ref.version).inc(seen)
            MODEL_CLICKS.labels(ref.name, ref.version).inc(clicked)
    with db.session() as s, s.begin():
        purged = rowcount(
            s.execute(
                delete(CanaryServingRow).where(
                    CanaryServingRow.settled.is_(True), CanaryServingRow.served_at < now - keep
                )
            )
        )
    return {"lists": lists, "clicks": clicks, "purged": purged}


def _observations(
    outcomes: Mapping[tuple[ModelRef, datetime], tuple[int, int]],
) -> list[CanaryObservationRow]:
    """Canary observation rows of settled outcomes ((impressions, clicks) per version and
    minute served, stamped with that minute), written in the settling transaction so the
    settlement and its figures commit together."""
    return [
        CanaryObservationRow(
            model_name=ref.name,
            version=ref.version,
            at=minute,
            requests=0,
            errors=0,
            impressions=impressions,
            clicks=clicks,
            latency_counts=[0] * (len(LATENCY_BUCKETS) + 1),
        )
        for (ref, minute), (impressions, clicks) in outcomes.items()
    ]
