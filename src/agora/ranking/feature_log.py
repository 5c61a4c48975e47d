"""Feature logging of served lists, off the hot path, and training sets built from it.

``FeatureLog.record`` queues a served list; a background thread writes queued
lists in batches (and computes the SHAP contributions of the top items when the
request did not already ask for them). ``FeatureLog.training_frame`` joins the
logged slots with the clicks and purchases that followed within the attribution
window: the features are the ones the scorer saw, so no leakage from later data.

Example:
    >>> log = FeatureLog(db)  # doctest: +SKIP
    >>> frame = log.training_frame(events)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import insert, select

from agora.ranking.base import RankedList
from agora.ranking.labels import label_impressions
from agora.ranking.tables import RankingRequestRow, RankingServedRow
from agora.storage.database import Database
from agora.storage.tables import stored_utc

log = logging.getLogger(__name__)


@dataclass
class ServedRecord:
    """One served list with the feature rows of its slots (None rows: trending/sponsored)."""

    ranked: RankedList
    ts: datetime
    feature_names: list[str]
    features: list[np.ndarray | None]
    explain: Callable[[], list[dict[str, Any]]] | None = None


def _vector(row: np.ndarray | None) -> list[float | None]:
    if row is None:
        return []
    return [None if not math.isfinite(v) else float(v) for v in row.tolist()]


class FeatureLog:
    """Asynchronous, batched writer of served lists into the catalog."""

    def __init__(self, db: Database, *, max_queue: int = 10_000) -> None:
        self.db = db
        self._queue: queue.Queue[ServedRecord | None] = queue.Queue(maxsize=max_queue)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.dropped = 0

    def record(self, rec: ServedRecord) -> None:
        """Queue a served list (dropped and counted if the writer is far behind)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ranking-log", daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait(rec)
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < 200:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._write(batch)
                    return
                batch.append(nxt)
            self._write(batch)

    def _write(self, batch: list[ServedRecord]) -> None:
        requests: list[dict[str, Any]] = []
        served: list[dict[str, Any]] = []
        for rec in batch:
            r = rec.ranked
            explanations: list[dict[str, Any]] = [
                {"asset_id": i.asset_id, **i.explanation} for i in r.items if i.explanation
            ]
            if not explanations and rec.explain is not None:
                try:
                    explanations = rec.explain()
                except Exception:  # an explanation must never lose the log row
                    log.exception("ranking: SHAP for the feature log failed")
            requests.append(
                {
                    "request_id": r.request_id,
                    "user_id": r.user_id,
                    "query": r.query,
                    "ts": rec.ts,
                    "models": r.models,
                    "timings_ms": r.timings_ms,
                    "fallbacks": r.fallbacks,
                    "trending": r.trending,
                    "feature_names": rec.feature_names,
                    "explanations": explanations,
                }
            )
            for item, row in zip(r.items, rec.features, strict=True):
                served.append(
                    {
                        "request_id": r.request_id,
                        "user_id": r.user_id,
                        "asset_id": item.asset_id,
                        "position": item.position,
                        "sponsored": item.sponsored,
                        "score": float(item.score),
                        "ts": rec.ts,
                        "features": _vector(row),
                    }
                )
        try:
            with self.db.session() as s:
                s.execute(insert(RankingRequestRow), requests)
                if served:
                    s.execute(insert(RankingServedRow), served)
                s.commit()
        except Exception:
            log.exception("ranking: writing %d served lists failed", len(batch))

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything queued so far is written (tests, shutdown)."""
        with self._lock:
            thread = self._thread
            self._thread = None
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout)

    def served(self, *, since: datetime | None = None) -> pd.DataFrame:
        """Logged slots with their request's feature names (one row per served item)."""
        q = select(
            RankingServedRow, RankingRequestRow.feature_names, RankingRequestRow.models
        ).join(RankingRequestRow, RankingRequestRow.request_id == RankingServedRow.request_id)
        if since is not None:
            q = q.where(RankingServedRow.ts >= since)
        with self.db.session() as s:
            rows = s.execute(q).all()
        return pd.DataFrame(
            [
                {
                    "request_id": r.request_id,
                    "user_id": r.user_id,
                    "asset_id": r.asset_id,
                    "position": r.position,
                    "sponsored": r.sponsored,
                    "score": r.score,
                    "ts": stored_utc(r.ts),
                    "features": r.features,
                    "feature_names": names,
                    "models": models,
                }
                for r, names, models in rows
            ]
        )

    def training_frame(
        self, events: pd.DataFrame | Iterable[Mapping[str, Any]], *, since: datetime | None = None
    ) -> pd.DataFrame:
        """Served organic slots with ``clicked``/``purchased``/``label`` (1-hour attribution)."""
        served = self.served(since=since)
        if len(served):
            served = served[~served["sponsored"] & (served["features"].map(len) > 0)]
        return label_impressions(events, impressions=served)


def matrix_of(frame: pd.DataFrame) -> np.ndarray:
    """The logged feature vectors as a float matrix (None -> NaN)."""
    if not len(frame):
        return np.zeros((0, 0))
    return np.array(
        [[np.nan if v is None else v for v in row] for row in frame["features"]], dtype=np.float64
    )
