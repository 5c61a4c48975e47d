"""Batch features: catalog snapshot -> offline store -> online store (incremental).

:func:`snapshot_catalog` computes the batch views from the catalog (assets, sellers,
users, interactions) and appends them to the offline store, stamped with the snapshot
time, so training sets see exactly the values serving had. :func:`materialize` copies
the newest row per entity of every batch view from the offline store to the online
store, only rows created since the last run (a watermark per view in
``<offline root>/_materialized.json``), in chunks with a progress callback.

Example:
    >>> snapshot_catalog(platform.db, platform.features.offline)  # doctest: +SKIP
    {'asset_batch': 120, 'seller_batch': 8, 'user_batch': 40, 'category_prices': 6}
    >>> materialize(platform.features)  # doctest: +SKIP
    {'asset_batch': 120, ...}
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlalchemy import func, select

from agora.domain import AssetStatus
from agora.errors import NotFound
from agora.features.offline import CREATED_TS, EVENT_TS, _q
from agora.features.service import FeatureStore
from agora.quality.results import latest_scores
from agora.storage.tables import AssetRow, InteractionRow, SellerRow, UserRow, stored_utc

if TYPE_CHECKING:
    from agora.features.offline import OfflineStore
    from agora.storage.database import Database

Progress = Callable[[str, int, int], None]  # (view, done, total)
CHUNK = 20_000


def _stock(status: str, stock: int | None) -> str:
    if status in (AssetStatus.BANNED.value, AssetStatus.REMOVED.value):
        return "unavailable"
    if stock is None:
        return "unlimited"
    return "in_stock" if stock > 0 else "out_of_stock"


def _table(key: str, rows: dict[str, dict[str, Any]], at: datetime) -> pa.Table:
    ids = list(rows)
    cols: dict[str, Any] = {key: ids, EVENT_TS: [at] * len(ids), CREATED_TS: [at] * len(ids)}
    names = list(next(iter(rows.values()))) if rows else []
    for name in names:
        cols[name] = [rows[i][name] for i in ids]
    return pa.table(cols)


def snapshot_catalog(
    db: Database, offline: OfflineStore, *, at: datetime | None = None
) -> dict[str, int]:
    """Append the catalog-derived batch views from ``db`` to the ``offline`` store;
    rows per view."""
    at = at or datetime.now(UTC)
    month, quarter = at - timedelta(days=30), at - timedelta(days=90)
    assets: dict[str, dict[str, Any]] = {}
    sellers: dict[str, dict[str, Any]] = {}
    users: dict[str, dict[str, Any]] = {}
    prices: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    with db.session() as s:
        trust = dict(s.execute(select(SellerRow.id, SellerRow.trust_score)).tuples().all())
        scores = latest_scores(s)
        for a in s.scalars(select(AssetRow).where(AssetRow.status != AssetStatus.REMOVED.value)):
            attrs = a.attributes or {}
            price = float(a.price) if a.price is not None else None
            assets[a.id] = {
                "price": price,
                "category": a.category or "",
                "stock_status": _stock(a.status, a.stock),
                "condition_grade": str(
                    attrs.get("condition") or attrs.get("condition_grade") or ""
                ),
                "seller_trust_score": float(trust.get(a.seller_id, 0.5)),
                # The scores step's quality score; a marketplace-supplied one otherwise.
                "asset_quality_score": _float(
                    scores.get(a.id, {}).get("quality", attrs.get("quality_score"))
                ),
                "asset_risk_score": _float(scores.get(a.id, {}).get("risk")),
                "embedding_ref": str(attrs.get("embedding_ref") or ""),
            }
            if price is not None and a.category and a.status == AssetStatus.ACTIVE.value:
                prices[a.category].append((stored_utc(a.created_at), price))
        listings = dict(
            s.execute(
                select(AssetRow.seller_id, func.count())
                .where(AssetRow.status == AssetStatus.ACTIVE.value)
                .group_by(AssetRow.seller_id)
            )
            .tuples()
            .all()
        )
        for sel in s.scalars(select(SellerRow)):
            sellers[sel.id] = {
                "trust_score": float(sel.trust_score),
                "verified": float(bool(sel.verified)),
                "active_listings": float(listings.get(sel.id, 0)),
            }
        spend = dict(
            s.execute(
                select(InteractionRow.user_id, func.sum(InteractionRow.value))
                .where(InteractionRow.type == "purchase")
                .group_by(InteractionRow.user_id)
            )
            .tuples()
            .all()
        )
        recent: dict[str, Counter[str]] = defaultdict(Counter)
        q = (
            select(InteractionRow.user_id, AssetRow.category, func.count())
            .join(AssetRow, AssetRow.id == InteractionRow.asset_id)
            .where(InteractionRow.ts >= month, AssetRow.category.is_not(None))
            .group_by(InteractionRow.user_id, AssetRow.category)
        )
        for user_id, category, n in s.execute(q).tuples():
            recent[user_id][str(category)] = int(n)
        for u in s.scalars(select(UserRow)):
            attrs = u.attributes or {}
            top = [c for c, _ in sorted(recent[u.id].items(), key=lambda kv: (-kv[1], kv[0]))[:3]]
            users[u.id] = {
                "age_group": str(attrs.get("age_group") or ""),
                "lifetime_spend": float(spend.get(u.id) or 0.0),
                "top_categories_30d": ",".join(top),
            }
    categories = {
        f"category:{cat}": {
            "avg_category_price_30d": _mean([p for t, p in rows if t >= month]),
            "avg_category_price_90d": _mean([p for t, p in rows if t >= quarter]),
        }
        for cat, rows in prices.items()
    }
    written = {}
    for view, key, rows in (
        ("asset_batch", "asset_id", assets),
        ("seller_batch", "seller_id", sellers),
        ("user_batch", "user_id", users),
        ("category_prices", "context_id", categories),
    ):
        if rows:
            offline.write(view, _table(key, rows, at))
        written[view] = len(rows)
    return written


def _float(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def materialize(
    fs: FeatureStore, views: list[str] | None = None, *, progress: Progress | None = None
) -> dict[str, int]:
    """Copy new offline rows of batch views online (newest per entity); rows per view."""
    marks_path = fs.offline.root / "_materialized.json"
    marks: dict[str, int] = json.loads(marks_path.read_text()) if marks_path.exists() else {}
    names = views or [v.name for v in fs.registry.views.values() if v.source == "batch"]
    done: dict[str, int] = {}
    con = fs.offline.connect()
    try:
        for name in names:
            view = fs.registry.views.get(name)
            if view is None:
                raise NotFound(f"unknown feature view {name!r}")
            try:
                files = [str(p) for p in fs.offline.view_files(name)]
            except NotFound:
                done[name] = 0
                continue
            key, since = view.entity.join_key, marks.get(name, -(2**62))
            feats = ", ".join(_q(f) for f in view.feature_names)
            table = con.sql(
                f"""SELECT {_q(key)}, epoch_us(max({EVENT_TS})) AS __ets,
                      epoch_us(max({CREATED_TS})) AS __cts,
                      arg_max(struct_pack({feats}), ({EVENT_TS}, {CREATED_TS})) AS __v
                    FROM read_parquet({files!r}, union_by_name=true)
                    WHERE epoch_us({CREATED_TS}) > {int(since)}
                    GROUP BY {_q(key)}"""
            ).to_arrow_table()
            n = table.num_rows
            for start in range(0, n, CHUNK):
                part = table.slice(start, CHUNK)
                values = part.column("__v").combine_chunks()
                fs.online.write(
                    view.entity.name,
                    [str(i) for i in part.column(key).to_pylist()],
                    {f: _column(values.field(f), fs.registry.feature(view.entity.name, f).fill)
                     for f in view.feature_names},
                    part.column("__ets").to_numpy() / 1e6,
                )  # fmt: skip
                if progress:
                    progress(name, min(start + CHUNK, n), n)
            if n:
                marks[name] = int(pa.compute.max(table.column("__cts")).as_py())
            done[name] = n
    finally:
        con.close()
    sync = getattr(fs.online, "flush", None)
    if sync is not None:
        sync()  # durable before the watermark moves on
    marks_path.parent.mkdir(parents=True, exist_ok=True)
    marks_path.write_text(json.dumps(marks))
    return done


def _column(arr: pa.Array, fill: Any) -> list[Any]:
    return [fill if v is None else v for v in arr.to_pylist()]
