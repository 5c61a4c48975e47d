"""Trending lists as stored state: computed from the window's interactions plus
all-time popularity, stored as ``RecoListRow`` rows (kinds ``trending`` and
``popular``) and loaded by the serving side (``agora.recommend.served``).

The hourly job that refreshes them is :func:`agora.recommend.jobs.refresh_trending`.

Example:
    >>> model = compute_trending(db, settings.recommend, {"view": 1.0})  # doctest: +SKIP
    >>> save_trending(db, model); load_trending(db).trending == model.trending  # doctest: +SKIP
    True
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select

from agora.recommend.tables import RecoListRow
from agora.recommend.trending import ANY, TrendingRecommender
from agora.storage.tables import AssetRow, InteractionRow, UserRow, stored_utc

if TYPE_CHECKING:
    from collections.abc import Mapping

    from agora.config import RecommendSettings
    from agora.storage.database import Database


def compute_trending(
    db: Database,
    settings: RecommendSettings,
    weights: Mapping[str, float],
    now: datetime | None = None,
) -> TrendingRecommender:
    """Trending lists from the interactions of the window, plus all-time popularity
    (``weights``: the affinity weight of each interaction type)."""
    s_ = settings
    now = now or datetime.now(UTC)
    model = TrendingRecommender(
        window_h=s_.trending_window_h, half_life_h=s_.trending_half_life_h, weights=weights
    )
    since = now - timedelta(hours=s_.trending_window_h)
    with db.session() as s:
        window = s.execute(
            select(
                InteractionRow.asset_id,
                InteractionRow.type,
                InteractionRow.ts,
                UserRow.region,
                AssetRow.category,
            )
            .join(UserRow, UserRow.id == InteractionRow.user_id)
            .join(AssetRow, AssetRow.id == InteractionRow.asset_id)
            .where(InteractionRow.ts >= since)
        ).all()
        totals = s.execute(
            select(InteractionRow.asset_id, AssetRow.category, InteractionRow.type, func.count())
            .join(AssetRow, AssetRow.id == InteractionRow.asset_id)
            .group_by(InteractionRow.asset_id, AssetRow.category, InteractionRow.type)
        ).all()
    events = [(a, t, stored_utc(ts).timestamp(), r, c) for a, t, ts, r, c in window]
    model.fit_events(events, now=now.timestamp())
    popular: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for asset, category, etype, count in totals:
        w = model.weights.get(etype, 0.0) * count
        if w > 0:
            for c in {category or ANY, ANY}:
                popular[c][asset] += w
    model.popular = {c: model._ranked(v) for c, v in popular.items()}
    return model


def save_trending(db: Database, model: TrendingRecommender) -> None:
    """Replace the stored trending and popularity lists."""
    stamp = datetime.fromtimestamp(model.computed_at or 0.0, UTC)
    key = f"reco-trending@{int(model.computed_at or 0)}"
    with db.session() as s, s.begin():
        s.execute(delete(RecoListRow).where(RecoListRow.kind.in_(("trending", "popular"))))
        for (region, category), items in model.trending.items():
            s.add(
                RecoListRow(
                    kind="trending",
                    key=f"{region}|{category}",
                    items=[list(i) for i in items],
                    model=key,
                    computed_at=stamp,
                )
            )
        for category, items in model.popular.items():
            s.add(
                RecoListRow(
                    kind="popular",
                    key=category,
                    items=[list(i) for i in items],
                    model=key,
                    computed_at=stamp,
                )
            )


def load_trending(db: Database) -> TrendingRecommender | None:
    """The stored trending lists, or None when never computed."""
    with db.session() as s:
        rows = s.scalars(
            select(RecoListRow).where(RecoListRow.kind.in_(("trending", "popular")))
        ).all()
    if not rows:
        return None
    model = TrendingRecommender()
    for row in rows:
        items = [(a, float(v)) for a, v in row.items]
        if row.kind == "trending":
            region, _, category = row.key.partition("|")
            model.trending[(region, category)] = items
        else:
            model.popular[row.key] = items
        stamp = stored_utc(row.computed_at)
        model.computed_at = stamp.timestamp()
    return model
