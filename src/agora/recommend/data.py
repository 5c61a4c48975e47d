"""Training data from the catalog: the decay-weighted user-item matrix and histories.

The weights and half-life are the feature store's (``FeatureSettings.
affinity_weights`` / ``affinity_half_life_s``: view < favorite < add_to_cart <
purchase), so the matrix the recommenders learn from equals the affinities the
feature store serves online. :func:`decay_weighted_matrix` reads the catalog's
``interactions`` table directly; it is the one place to switch to the feature
store's offline aggregates once those are materialised.

Example:
    >>> w = decay_weight(age_s=7 * 86400.0, half_life_s=7 * 86400.0, base=10.0)
    >>> round(w, 3)
    5.0
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, select

from agora.recommend.base import InteractionMatrix
from agora.storage.database import Database
from agora.storage.tables import AssetRow, InteractionRow, UserRow, stored_utc

LN2 = math.log(2.0)


def decay_weight(*, age_s: float, half_life_s: float, base: float) -> float:
    """``base`` halved every ``half_life_s`` seconds of age (future events count fully)."""
    return base * math.exp(-LN2 * max(age_s, 0.0) / half_life_s)


def _epoch(ts: datetime) -> float:
    return stored_utc(ts).timestamp()


def decay_weighted_matrix(
    db: Database,
    *,
    weights: Mapping[str, float],
    half_life_s: float,
    now: datetime | None = None,
    since: datetime | None = None,
) -> InteractionMatrix:
    """Users x assets matrix of decay-weighted affinities from the interactions table.

    Event types whose weight is <= 0 (impressions, skips) are left out: implicit
    ALS/BPR treat every stored cell as a positive signal.
    """
    now_s = _epoch(now or datetime.now(UTC))
    kept = [t for t, w in weights.items() if w > 0]
    stmt = select(
        InteractionRow.user_id, InteractionRow.asset_id, InteractionRow.type, InteractionRow.ts
    ).where(InteractionRow.type.in_(kept))
    if since is not None:
        stmt = stmt.where(InteractionRow.ts >= since)
    cells: dict[tuple[str, str], float] = defaultdict(float)
    with db.session() as s:
        for user, asset, etype, ts in s.execute(stmt):
            cells[(user, asset)] += decay_weight(
                age_s=now_s - _epoch(ts), half_life_s=half_life_s, base=weights[etype]
            )
    return InteractionMatrix.from_triples((u, a, w) for (u, a), w in cells.items())


@dataclass(frozen=True)
class UserHistory:
    """What the serving path needs about one user, read in one query."""

    user_id: str
    recent: list[tuple[str, float]]  # (asset_id, decayed weight), most recent first
    purchased: frozenset[str]
    region: str | None
    n_events: int

    @property
    def seen(self) -> frozenset[str]:
        return frozenset(a for a, _ in self.recent)


_RECENT = (
    select(InteractionRow.asset_id, InteractionRow.type, InteractionRow.ts)
    .where(
        InteractionRow.user_id == bindparam("user_id"),
        InteractionRow.type.in_(bindparam("types", expanding=True)),
    )
    .order_by(InteractionRow.ts.desc())
    .limit(bindparam("limit"))
)
_PURCHASED = select(InteractionRow.asset_id).where(
    InteractionRow.user_id == bindparam("user_id"), InteractionRow.type == "purchase"
)
_REGION = select(UserRow.region).where(UserRow.id == bindparam("user_id"))


def user_history(
    db: Database,
    user_id: str,
    *,
    weights: Mapping[str, float],
    half_life_s: float,
    limit: int = 200,
    now: datetime | None = None,
) -> UserHistory:
    """The user's most recent positive interactions (decay-weighted) and purchases."""
    now_s = _epoch(now or datetime.now(UTC))
    kept = [t for t, w in weights.items() if w > 0]
    # Core statements on one connection: this runs on every uncached request,
    # and the ORM session cost more than the three indexed lookups.
    with db.engine.connect() as conn:
        params = {"user_id": user_id, "types": kept, "limit": limit}
        rows = conn.execute(_RECENT, params).all()
        purchased = conn.execute(_PURCHASED, params).scalars().all()
        region = conn.execute(_REGION, params).scalar()
    recent: dict[str, float] = {}
    for asset, etype, ts in rows:
        w = decay_weight(age_s=now_s - _epoch(ts), half_life_s=half_life_s, base=weights[etype])
        recent[asset] = recent.get(asset, 0.0) + w
    return UserHistory(user_id, list(recent.items()), frozenset(purchased), region, len(rows))


def asset_categories(db: Database) -> dict[str, str | None]:
    """asset id -> category, for per-category trending and filters."""
    with db.session() as s:
        return dict(s.execute(select(AssetRow.id, AssetRow.category)).tuples().all())
