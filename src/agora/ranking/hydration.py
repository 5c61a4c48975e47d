"""Stage 3, feature hydration: one batched online-store read per entity, within a budget.

The feature vector of a (user, candidate) pair is fixed by ``FEATURES``: the
asset's and user's stream aggregates and the user-asset affinity from the
online store, plus catalog columns from the snapshot and request context. The
online reads run on a worker thread; if they do not finish within the budget
(seed 001: 100 ms) the caller switches to generic popularity weights.

Example:
    >>> FEATURES[:3]
    ['asset_ctr_1h', 'asset_ctr_24h', 'asset_clicks_24h']
"""

from __future__ import annotations

import math
from concurrent.futures import Executor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

import numpy as np

from agora.features.base import OnlineStore, decayed_affinity
from agora.ranking.catalog import CatalogSnapshot

# (online feature name, model feature name) per entity.
ASSET_ONLINE = [
    ("ctr_1h", "asset_ctr_1h"),
    ("ctr_24h", "asset_ctr_24h"),
    ("clicks_24h", "asset_clicks_24h"),
    ("impressions_24h", "asset_impressions_24h"),
    ("purchases_24h", "asset_purchases_24h"),
]
USER_ONLINE = [("clicks_24h", "user_clicks_24h"), ("events_24h", "user_events_24h")]
USER_TEXT = ["top_categories_30d", "last_viewed_category"]
CATALOG = [
    "log_price",
    "seller_trust",
    "seller_verified",
    "asset_age_days",
    "distance_km",
    "ctr_prior",
    "log_impressions",
    "category_rank",
    "last_viewed_match",
    "affinity",
    "retrieval",
    "from_search",
    "from_recommender",
    "hour_of_day",
    "asset_quality",
    "asset_risk",
]
FEATURES = [m for _, m in ASSET_ONLINE] + [m for _, m in USER_ONLINE] + CATALOG


@dataclass
class Hydrated:
    """Feature matrix (rows follow the candidates) and whether it is personalised."""

    matrix: np.ndarray
    online: bool  # False: the online store was slow or absent; online columns are NaN


def _online(
    store: OnlineStore, user_id: str | None, asset_ids: list[str], now: float, half_life_s: float
) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    assets = store.read("asset", asset_ids, [f for f, _ in ASSET_ONLINE], now=now)
    if user_id is None:
        return assets, np.full((1, len(USER_ONLINE)), np.nan), ["", ""], np.zeros(len(asset_ids))
    user = store.read("user", [user_id], [f for f, _ in USER_ONLINE], now=now)
    text = store.read("user", [user_id], USER_TEXT, now=now)[0]
    affinity = decayed_affinity(store, user_id, asset_ids, half_life_s=half_life_s, now=now)
    return assets, user, [str(t) for t in text], affinity


def hydrate(
    snap: CatalogSnapshot,
    rows: np.ndarray,
    *,
    user_id: str | None,
    distance_km: np.ndarray,
    retrieval: np.ndarray,
    from_search: np.ndarray,
    from_recommender: np.ndarray,
    now: float,
    store: OnlineStore | None,
    executor: Executor | None,
    budget_s: float,
    half_life_s: float,
) -> Hydrated:
    """Build the ``len(rows) x len(FEATURES)`` matrix (NaN = missing)."""
    n = len(rows)
    asset_ids = [snap.ids[r] for r in rows]
    online = False
    assets = np.full((n, len(ASSET_ONLINE)), np.nan)
    user = np.full((1, len(USER_ONLINE)), np.nan)
    text = ["", ""]
    affinity = np.zeros(n)
    if store is not None:
        try:
            if executor is None:
                got = _online(store, user_id, asset_ids, now, half_life_s)
            else:
                future = executor.submit(_online, store, user_id, asset_ids, now, half_life_s)
                got = future.result(timeout=budget_s)
            assets, user, text, affinity = got
            online = True
        except FutureTimeout:
            online = False
    cats = snap.categories[rows]
    top = [c for c in text[0].split(",") if c]
    rank_of = {c: i for i, c in enumerate(top)}
    category_rank = np.array([rank_of.get(c, math.nan) for c in cats], dtype=np.float64)
    catalog = np.column_stack(
        [
            np.log1p(np.nan_to_num(snap.price[rows], nan=0.0)),
            snap.trust[rows],
            snap.verified[rows].astype(np.float64),
            snap.age_days[rows],
            distance_km,
            snap.ctr_prior[rows],
            np.log1p(snap.impressions[rows]),
            category_rank,
            (cats == text[1]).astype(np.float64) if text[1] else np.zeros(n),
            affinity,
            retrieval,
            from_search.astype(np.float64),
            from_recommender.astype(np.float64),
            np.full(n, (now % 86400) / 3600.0),
            snap.quality[rows],
            snap.risk[rows],
        ]
    )
    matrix = np.hstack([np.asarray(assets, dtype=np.float64), np.repeat(user, n, axis=0), catalog])
    return Hydrated(matrix=matrix, online=online)
