"""Stream processing of ``interaction.recorded``: window aggregates and affinities.

:class:`StreamAggregator` turns a batch of interaction payloads into online writes:

* per user and per asset, counts of impressions, views, clicks, purchases and all
  events over 5 min / 1 h / 24 h (see :mod:`agora.features.windows`), CTR
  (clicks / impressions, 0 without impressions) and the last event's type, value, time;
* per user: ``session_clicks_last_5m``, ``current_search_query`` (``context.query``),
  ``last_viewed_category`` (the asset's online ``category``, else ``context.category``);
* per (user, asset): the decay-weighted affinity (weights per event type and half-life
  from ``FeatureSettings``), kept in log space so an update is one ``logaddexp``.

Every batch is written to the online store at once (the freshness figure is publish ->
readable), and buffered to the offline store (``created_timestamp`` = processing time)
so training sees what serving saw. :class:`StreamConsumer` drives it from the bus as
consumer group ``features``; :meth:`StreamConsumer.drain` processes what is queued in
the calling thread (tests). Counts are not idempotent, so redeliveries are skipped by
event id (a bounded in-memory set; after a restart the windows are rebuilt from the
catalog's last 24 h of interactions by :meth:`StreamAggregator.warm_start`).

Example:
    >>> agg = StreamAggregator(feature_store, settings.features)  # doctest: +SKIP
    >>> agg.apply([{"user_id": "u1", "asset_id": "a1", "type": "view",
    ...             "ts": "2025-01-01T00:00:00+00:00"}])  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa

from agora.config import FeatureSettings
from agora.features.base import AFFINITY_ENTITY, AFFINITY_FEATURE, OnlineStore
from agora.features.offline import CREATED_TS, EVENT_TS, OfflineStore
from agora.features.windows import RINGS, WindowCounters

log = logging.getLogger(__name__)

# Counter columns of the window rings; "events" counts every type.
COUNTERS = ("impression", "view", "click", "purchase", "events")
_PLURAL = {"impression": "impressions", "view": "views", "click": "clicks", "purchase": "purchases"}
_LN2 = math.log(2.0)


def _epoch(ts: Any) -> float:
    if isinstance(ts, int | float):
        return float(ts)
    return datetime.fromisoformat(str(ts).replace("Z", "+00:00")).timestamp()


class StreamAggregator:
    """Window aggregates and affinities from interaction payloads (see module doc)."""

    def __init__(
        self,
        online: OnlineStore,
        settings: FeatureSettings,
        offline: OfflineStore | None = None,
        *,
        dedupe_window: int = 500_000,
    ) -> None:
        self.online, self.offline, self.settings = online, offline, settings
        self.users = WindowCounters(len(COUNTERS))
        self.assets = WindowCounters(len(COUNTERS))
        self._affinity: dict[str, float] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._dedupe_window = dedupe_window
        self._pending: dict[str, list[pa.Table]] = {}
        self._flushed_at = time.monotonic()
        self._lock = threading.Lock()

    # -- batch -------------------------------------------------------------------

    def apply(
        self,
        payloads: Sequence[Mapping[str, Any]],
        event_ids: Sequence[str] | None = None,
        *,
        log_offline: bool = True,
    ) -> int:
        """Aggregate a batch and write the touched entities online; returns events used."""
        with self._lock:
            events = self._fresh(payloads, event_ids)
            if not events:
                return 0
            users = [e["user_id"] for e in events]
            assets = [e["asset_id"] for e in events]
            types = [e["type"] for e in events]
            ts = np.fromiter((_epoch(e["ts"]) for e in events), np.float64, len(events))
            kind = np.array([COUNTERS.index(t) if t in COUNTERS else -1 for t in types])
            urows, arows = self.users.rows(users), self.assets.rows(assets)
            # One update per entity kind: the typed counter, plus "events" for every event.
            typed = kind >= 0
            counter = np.concatenate([kind[typed], np.full(len(events), COUNTERS.index("events"))])
            both_ts = np.concatenate([ts[typed], ts])
            self.users.add(np.concatenate([urows[typed], urows]), both_ts, counter)
            self.assets.add(np.concatenate([arows[typed], arows]), both_ts, counter)
            now = float(ts.max())
            tables = {
                "user_realtime": self._user_rows(events, urows, ts, now),
                "asset_realtime": self._entity_rows("asset", self.assets, events, arows, ts, now),
                "user_asset_affinity": self._affinity_rows(users, assets, types, ts),
            }
            if log_offline and self.offline is not None:
                for view, table in tables.items():
                    self._pending.setdefault(view, []).append(table)
                if time.monotonic() - self._flushed_at >= self.settings.offline_flush_s:
                    self.flush()
            return len(events)

    def _fresh(
        self, payloads: Sequence[Mapping[str, Any]], ids: Sequence[str] | None
    ) -> list[Mapping[str, Any]]:
        if ids is None:
            return list(payloads)
        out = []
        for p, i in zip(payloads, ids, strict=True):
            if i in self._seen:
                continue
            self._seen[i] = None
            out.append(p)
        while len(self._seen) > self._dedupe_window:
            self._seen.popitem(last=False)
        return out

    def _window_columns(
        self, counters: WindowCounters, rows: np.ndarray, now: float
    ) -> dict[str, np.ndarray]:
        totals = counters.totals(rows, now)
        cols: dict[str, np.ndarray] = {}
        for name, _, _ in RINGS:
            t = totals[name]
            for k, counter in enumerate(COUNTERS):
                cols[f"{_PLURAL.get(counter, counter)}_{name}"] = t[:, k]
            imp, clk = t[:, COUNTERS.index("impression")], t[:, COUNTERS.index("click")]
            cols[f"ctr_{name}"] = np.divide(clk, imp, out=np.zeros_like(clk), where=imp > 0)
        return cols

    @staticmethod
    def _last(events: Sequence[Mapping[str, Any]], key: str, ts: np.ndarray) -> dict[str, int]:
        """Index of the latest event per entity id (by event time, then arrival)."""
        last: dict[str, int] = {}
        for i, e in enumerate(events):
            j = last.get(e[key])
            if j is None or ts[i] >= ts[j]:
                last[e[key]] = i
        return last

    def _entity_rows(
        self,
        entity: str,
        counters: WindowCounters,
        events: Sequence[Mapping[str, Any]],
        rows: np.ndarray,
        ts: np.ndarray,
        now: float,
        extra: Mapping[str, list[Any]] | None = None,
    ) -> pa.Table:
        key = f"{entity}_id"
        last = self._last(events, key, ts)
        ids = list(last)
        idx = np.fromiter(last.values(), np.int64, len(last))
        cols: dict[str, Any] = self._window_columns(counters, rows[idx], now)
        cols["last_event_type"] = [events[i]["type"] for i in idx]
        values = [events[i].get("value") for i in idx]
        cols["last_event_value"] = np.array([math.nan if v is None else v for v in values], float)
        cols["last_event_ts"] = ts[idx]
        if entity == "asset":
            cols["views_last_hour"] = cols["views_1h"]
            cols["ctr_last_hour"] = cols["ctr_1h"]
        else:
            cols["session_clicks_last_5m"] = cols["clicks_5m"]
        cols.update(self._extra(extra, idx) if extra else {})
        self.online.write(entity, ids, cols, _stamp(ts[idx]))
        return _offline_table(key, ids, ts[idx], cols)

    @staticmethod
    def _extra(extra: Mapping[str, list[Any]], idx: np.ndarray) -> dict[str, list[Any]]:
        return {name: [values[i] for i in idx] for name, values in extra.items()}

    def _user_rows(
        self, events: Sequence[Mapping[str, Any]], rows: np.ndarray, ts: np.ndarray, now: float
    ) -> pa.Table:
        # Category of the asset each event touched: the online asset profile, else context.
        assets = list(dict.fromkeys(e["asset_id"] for e in events))
        cats = dict(zip(assets, self.online.read("asset", assets, ["category"])[:, 0], strict=True))
        categories, queries = [], []
        for e in events:
            ctx = e.get("context") or {}
            categories.append(cats.get(e["asset_id"]) or str(ctx.get("category") or ""))
            queries.append(str(ctx.get("query") or ""))
        table = self._entity_rows("user", self.users, events, rows, ts, now)
        # Latest non-empty query / viewed category per user within the batch.
        extra: dict[str, dict[str, tuple[float, str]]] = {"q": {}, "c": {}}
        for i, e in enumerate(events):
            u = e["user_id"]
            if queries[i] and ts[i] >= extra["q"].get(u, (-1.0, ""))[0]:
                extra["q"][u] = (ts[i], queries[i])
            viewed = e["type"] in ("view", "click") and categories[i]
            if viewed and ts[i] >= extra["c"].get(u, (-1.0, ""))[0]:
                extra["c"][u] = (ts[i], categories[i])
        for feature, key in (("current_search_query", "q"), ("last_viewed_category", "c")):
            found = extra[key]
            if found:
                users = list(found)
                self.online.write(
                    "user",
                    users,
                    {feature: [found[u][1] for u in users]},
                    _stamp(np.array([found[u][0] for u in users])),
                )
        return table

    def _affinity_rows(
        self, users: list[str], assets: list[str], types: list[str], ts: np.ndarray
    ) -> pa.Table:
        weights = self.settings.affinity_weights
        hl = self.settings.affinity_half_life_s
        batch: dict[str, tuple[float, float]] = {}  # key -> (log contribution, latest ts)
        for u, a, t, when in zip(users, assets, types, ts, strict=True):
            w = weights.get(t, 0.0)
            if w <= 0.0:
                continue
            key = f"{u}|{a}"
            c = math.log(w) + _LN2 * when / hl
            old = batch.get(key)
            batch[key] = (np.logaddexp(old[0], c), max(old[1], when)) if old else (c, when)
        keys = list(batch)
        if not keys:
            return _offline_table(f"{AFFINITY_ENTITY}_id", [], np.zeros(0), {AFFINITY_FEATURE: []})
        missing = [k for k in keys if k not in self._affinity]
        if missing:  # pairs not seen since start: continue from what is online
            stored = self.online.read(AFFINITY_ENTITY, missing, [AFFINITY_FEATURE])[:, 0]
            for k, v in zip(missing, stored, strict=True):
                if np.isfinite(v):
                    self._affinity[k] = float(v)
        values = np.empty(len(keys))
        for i, k in enumerate(keys):
            prev = self._affinity.get(k)
            values[i] = batch[k][0] if prev is None else np.logaddexp(prev, batch[k][0])
            self._affinity[k] = float(values[i])
        at = np.array([batch[k][1] for k in keys])
        self.online.write(AFFINITY_ENTITY, keys, {AFFINITY_FEATURE: values}, _stamp(at))
        return _offline_table(f"{AFFINITY_ENTITY}_id", keys, at, {AFFINITY_FEATURE: values})

    # -- offline log and restarts ---------------------------------------------------

    def flush(self) -> int:
        """Write buffered offline rows (one Parquet file per view); returns rows written."""
        written = 0
        if self.offline is not None:
            for view, tables in self._pending.items():
                table = pa.concat_tables(tables, promote_options="default")
                if table.num_rows:
                    self.offline.write(view, table)
                    written += table.num_rows
        self._pending.clear()
        self._flushed_at = time.monotonic()
        sync = getattr(self.online, "flush", None)
        if sync is not None:  # embedded store: msync what the stream wrote
            sync()
        return written

    def refresh(self, now: float | None = None) -> int:
        """Re-write window features of recently active entities at ``now`` so counts
        decay as buckets leave their windows even when no new event arrives."""
        now = time.time() if now is None else now
        n = 0
        with self._lock:
            for entity, counters in (("user", self.users), ("asset", self.assets)):
                rows = counters.active_rows(now)
                if not len(rows):
                    continue
                cols = self._window_columns(counters, rows, now)
                if entity == "asset":
                    cols["views_last_hour"], cols["ctr_last_hour"] = (
                        cols["views_1h"],
                        cols["ctr_1h"],
                    )
                else:
                    cols["session_clicks_last_5m"] = cols["clicks_5m"]
                self.online.write(entity, [counters.ids[r] for r in rows], cols, now)
                n += len(rows)
        return n


def _stamp(event_ts: np.ndarray) -> np.ndarray:
    """Online stamps: processing time (the aggregate is as of now), never before the
    event. Stamping with event time would let a replay of old events be ignored by the
    store's newest-write-wins rule after a refresh stamped the cells with now."""
    return np.asarray(np.maximum(event_ts, time.time()))


def _offline_table(key: str, ids: list[str], ts: np.ndarray, cols: Mapping[str, Any]) -> pa.Table:
    stamp = pa.array((ts * 1e6).astype(np.int64), pa.timestamp("us", tz="UTC"))
    created = pa.array(
        np.full(len(ids), int(time.time() * 1e6), np.int64), pa.timestamp("us", tz="UTC")
    )
    data: dict[str, Any] = {key: pa.array(ids, pa.string()), EVENT_TS: stamp, CREATED_TS: created}
    for name, values in cols.items():
        data[name] = values if isinstance(values, list) else pa.array(np.asarray(values, float))
    return pa.table(data)
