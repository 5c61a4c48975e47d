"""Columnar snapshot of the catalog for ranking: what the hard rules and priors need.

The catalog is the source of truth; ranking reads a snapshot of it (numpy
columns indexed by row) so that filtering 1,000 candidates is a handful of
vectorised gathers, not 1,000 row lookups. The snapshot also holds the generic
popularity priors (CTR and CVR with Beta smoothing, the seed's "cached model
weights" fallback), popular items per region (the recall fallback) and the
trending-globally list (the deadline fallback). :class:`SnapshotHolder`
refreshes it in the background every ``catalog_refresh_s``.

Example:
    >>> snap = CatalogSnapshot.from_records(
    ...     [{"id": "a1", "seller_id": "s1", "category": "art", "status": "active"}],
    ...     sellers=[{"id": "s1", "trust_score": 0.8, "verified": True}])
    >>> snap.rows(["a1", "zz"]).tolist()
    [0, -1]
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select

from agora.eligibility.rules import LISTS, listed, unlisted_reasons
from agora.quality.results import latest_scores
from agora.ranking.trust import seller_trust
from agora.storage.database import Database
from agora.storage.tables import AssetRow, InteractionRow, SellerRow, UserRow, stored_utc

# Beta prior of the popularity CTR/CVR: a new listing starts at the prior mean.
CTR_PRIOR = (1.0, 20.0)
CVR_PRIOR = (0.2, 40.0)
TRENDING_SIZE = 100
REGION_POPULAR_SIZE = 1000


@dataclass
class CatalogSnapshot:
    """Columns per catalog row (an asset with its seller's state)."""

    ids: list[str]
    seller_ids: np.ndarray  # object
    categories: np.ndarray  # object
    # bool: passes the catalog and stock rules of ``agora.eligibility.rules`` (LISTS);
    # admin bans and distance are per request (``agora.ranking.prefilter``)
    listed: np.ndarray
    trust: np.ndarray  # float, computed SellerTrust in [0, 1]
    verified: np.ndarray  # bool
    price: np.ndarray  # float (NaN unknown)
    lat: np.ndarray
    lon: np.ndarray
    age_days: np.ndarray
    impressions: np.ndarray
    clicks: np.ndarray
    purchases: np.ndarray
    sponsored_bid: np.ndarray  # 0 = not sponsored
    # The scores step's quality and risk (agora.quality.risk); NaN: not scored.
    quality: np.ndarray = field(default_factory=lambda: np.zeros(0))
    risk: np.ndarray = field(default_factory=lambda: np.zeros(0))
    seller_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    region_popular: dict[str, list[str]] = field(default_factory=dict)
    # Row -> the catalog rule (status, seller, stock) that unlists it, for the
    # rows ``listed`` refuses (the feed inspector says why a candidate went).
    unlisted: dict[int, str] = field(default_factory=dict)
    built_at: float = field(default_factory=time.time)
    index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.index = {a: i for i, a in enumerate(self.ids)}
        for name in ("quality", "risk"):
            if len(getattr(self, name)) != len(self.ids):
                setattr(self, name, np.full(len(self.ids), np.nan))
        self.ctr_prior = (self.clicks + CTR_PRIOR[0]) / (self.impressions + CTR_PRIOR[1])
        self.cvr_prior = (self.purchases + CVR_PRIOR[0]) / (self.impressions + CVR_PRIOR[1])
        eligible = self.listed
        # Engagement-weighted popularity: the recall and deadline fallbacks sort by it.
        self.popularity = np.log1p(self.clicks + 5.0 * self.purchases) + self.ctr_prior
        order = np.argsort(-np.where(eligible, self.popularity, -np.inf), kind="stable")
        self.trending = [self.ids[i] for i in order[: min(TRENDING_SIZE, int(eligible.sum()))]]
        self.global_popular = [
            self.ids[i] for i in order[: min(REGION_POPULAR_SIZE, int(eligible.sum()))]
        ]

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, asset_ids: Sequence[str]) -> np.ndarray:
        """Row index per id, -1 for ids the catalog does not know."""
        get = self.index.get
        return np.fromiter((get(a, -1) for a in asset_ids), dtype=np.int64, count=len(asset_ids))

    def popular_in(self, region: str | None) -> list[str]:
        """Popular eligible ids in ``region`` (global popularity when unknown)."""
        return self.region_popular.get(region or "", []) or self.global_popular

    @classmethod
    def from_records(
        cls,
        assets: Iterable[Mapping[str, Any]],
        *,
        sellers: Iterable[Mapping[str, Any]] = (),
        engagement: Mapping[str, tuple[int, int, int]] | None = None,
        region_popular: Mapping[str, list[str]] | None = None,
        now: datetime | None = None,
    ) -> CatalogSnapshot:
        """Build from asset and seller dicts (catalog column names).

        ``engagement``: asset id -> (impressions, clicks, purchases).
        """
        now = now or datetime.now(UTC)
        seller_map = {str(s["id"]): dict(s) for s in sellers}
        rows = list(assets)
        eng = engagement or {}
        info: dict[str, dict[str, Any]] = {}
        trust_of: dict[str, float] = {}
        for sid, s in seller_map.items():
            value, breakdown = seller_trust(s, now=now)
            trust_of[sid] = value
            info[sid] = {"trust": value, "breakdown": breakdown}

        def col(key: str, default: Any = None) -> list[Any]:
            return [r.get(key, default) for r in rows]

        def num(values: list[Any]) -> np.ndarray:
            return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)

        sellers_col = [str(s) for s in col("seller_id", "")]
        created = col("created_at")
        age = [
            (now - stored_utc(c)).total_seconds() / 86400.0 if isinstance(c, datetime) else math.nan
            for c in created
        ]
        attrs = col("attributes", None)
        bids = [float((a or {}).get("sponsored_bid", 0.0) or 0.0) for a in attrs]
        ids = [str(r["id"]) for r in rows]
        status = col("status", "active")
        stock = col("stock")
        banned = [bool(seller_map.get(s, {}).get("banned", False)) for s in sellers_col]
        ok = listed(status, stock, banned, LISTS)
        return cls(
            ids=ids,
            seller_ids=np.array(sellers_col, dtype=object),
            categories=np.array([c or "" for c in col("category")], dtype=object),
            listed=ok,
            trust=np.array([trust_of.get(s, 0.5) for s in sellers_col], dtype=np.float64),
            verified=np.array(
                [bool(seller_map.get(s, {}).get("verified", False)) for s in sellers_col]
            ),
            price=num(col("price")),
            lat=num(col("geo_lat")),
            lon=num(col("geo_lon")),
            age_days=np.array(age, dtype=np.float64),
            impressions=np.array([eng.get(a, (0, 0, 0))[0] for a in ids], dtype=np.float64),
            clicks=np.array([eng.get(a, (0, 0, 0))[1] for a in ids], dtype=np.float64),
            purchases=np.array([eng.get(a, (0, 0, 0))[2] for a in ids], dtype=np.float64),
            sponsored_bid=np.array(bids, dtype=np.float64),
            quality=num(col("quality_score")),
            risk=num(col("risk_score")),
            seller_info=info,
            region_popular=dict(region_popular or {}),
            unlisted=unlisted_reasons(ok, status, stock, banned, LISTS),
        )

    @classmethod
    def load(cls, db: Database, *, window: timedelta = timedelta(days=30)) -> CatalogSnapshot:
        """Read assets, sellers and the last ``window`` of engagement from the catalog."""
        now = datetime.now(UTC)
        since = now - window
        cols = [getattr(AssetRow, c) for c in _ASSET_COLUMNS]
        with db.session() as s:
            assets = [dict(zip(_ASSET_COLUMNS, r, strict=True)) for r in s.execute(select(*cols))]
            scores = latest_scores(s)
            for a in assets:
                got = scores.get(a["id"], {})
                a["quality_score"], a["risk_score"] = got.get("quality"), got.get("risk")
            sellers = [
                {"id": r.id, "trust_score": r.trust_score, "verified": r.verified,
                 "banned": r.banned, "attributes": r.attributes, "created_at": r.created_at}
                for r in s.scalars(select(SellerRow))
            ]  # fmt: skip
            counts = s.execute(
                select(InteractionRow.asset_id, InteractionRow.type, func.count())
                .where(InteractionRow.ts >= since)
                .where(InteractionRow.type.in_(["impression", "click", "purchase"]))
                .group_by(InteractionRow.asset_id, InteractionRow.type)
            ).all()
            regional = s.execute(
                select(UserRow.region, InteractionRow.asset_id, func.count().label("n"))
                .join(UserRow, UserRow.id == InteractionRow.user_id)
                .where(InteractionRow.ts >= since, UserRow.region.is_not(None))
                .where(InteractionRow.type.in_(["click", "purchase", "add_to_cart"]))
                .group_by(UserRow.region, InteractionRow.asset_id)
            ).all()
        eng: dict[str, list[int]] = {}
        slot = {"impression": 0, "click": 1, "purchase": 2}
        for asset_id, kind, n in counts:
            eng.setdefault(asset_id, [0, 0, 0])[slot[kind]] += int(n)
        by_region: dict[str, list[tuple[int, str]]] = {}
        for region, asset_id, n in regional:
            if region is None:
                continue
            by_region.setdefault(region, []).append((-int(n), asset_id))
        popular = {r: [a for _, a in sorted(v)[:REGION_POPULAR_SIZE]] for r, v in by_region.items()}
        snap = cls.from_records(
            assets,
            sellers=sellers,
            engagement={k: (v[0], v[1], v[2]) for k, v in eng.items()},
            region_popular=popular,
            now=now,
        )
        # Regional lists keep only rows that may be shown now.
        ok = snap.listed
        snap.region_popular = {
            r: [a for a in ids if ok[snap.index[a]]] for r, ids in popular.items() if ids
        }
        return snap


_ASSET_COLUMNS = (
    "id", "seller_id", "category", "status", "stock", "price",
    "geo_lat", "geo_lon", "attributes", "created_at",
)  # fmt: skip


class SnapshotHolder:
    """The current snapshot; a stale one is served while one refresh runs in the background."""

    def __init__(self, load: Callable[[], CatalogSnapshot], *, refresh_s: float) -> None:
        self._load = load
        self.refresh_s = refresh_s
        self._snap: CatalogSnapshot | None = None
        self._lock = threading.Lock()
        self._refreshing = False

    def get(self) -> CatalogSnapshot:
        snap = self._snap
        if snap is None:
            with self._lock:
                if self._snap is None:
                    self._snap = self._load()
                return self._snap
        if time.time() - snap.built_at > self.refresh_s and not self._refreshing:
            self._refreshing = True
            threading.Thread(target=self._refresh, name="ranking-snapshot", daemon=True).start()
        return snap

    def _refresh(self) -> None:
        try:
            self._snap = self._load()
        finally:
            self._refreshing = False

    def refresh(self) -> CatalogSnapshot:
        """Reload now (after catalog changes an operator wants reflected at once)."""
        self._snap = self._load()
        return self._snap


class UserGeo:
    """User region and coordinates from the catalog, cached briefly per user."""

    def __init__(self, db: Database, *, ttl_s: float = 60.0) -> None:
        self.db = db
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, tuple[str | None, float | None, float | None]]] = {}

    def of(self, user_id: str | None) -> tuple[str | None, float | None, float | None]:
        """``(region, lat, lon)``; all None for an unknown or anonymous user."""
        if user_id is None:
            return (None, None, None)
        hit = self._cache.get(user_id)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        with self.db.session() as s:
            row = s.get(UserRow, user_id)
        value = (None, None, None) if row is None else (row.region, row.lat, row.lon)
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[user_id] = (now, value)
        return value
