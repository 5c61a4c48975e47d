"""The catalog is the truth: drop what must never be recommended, then diversify sellers.

An asset is eligible when it is ``active``, in stock (``stock`` NULL means
unlimited, digital goods) and its seller is not banned; a user never gets an
asset they already purchased. One indexed ``IN`` query per list, so the check
runs on every served list, cached or not (a ban takes effect at once).

Example:
    >>> items = [ScoredItem("a1", 3, "x"), ScoredItem("a2", 2, "x"), ScoredItem("a3", 1, "x")]
    >>> sellers = {"a1": "s1", "a2": "s1", "a3": "s2"}
    >>> [i.asset_id for i in diversify(items, sellers, n=2, max_per_seller=1)]
    ['a1', 'a3']
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, or_, select

from agora.domain import AssetStatus
from agora.recommend.base import ScoredItem
from agora.storage.database import Database
from agora.storage.tables import AssetRow, SellerRow

_CHUNK = 900  # stay under SQLite's bound-parameter limit


@dataclass(frozen=True)
class EligibleAsset:
    seller_id: str
    category: str | None


# One statement, compiled once: SQLAlchemy caches it by shape, the expanding
# parameter takes the id list. Executed on a plain connection (no ORM session):
# this runs on every served list, cached or not, so its cost is the floor of a
# cache hit.
_ELIGIBLE = (
    select(AssetRow.id, AssetRow.seller_id, AssetRow.category)
    .join(SellerRow, SellerRow.id == AssetRow.seller_id)
    .where(
        AssetRow.id.in_(bindparam("ids", expanding=True)),
        AssetRow.status == AssetStatus.ACTIVE.value,
        or_(AssetRow.stock.is_(None), AssetRow.stock > 0),
        SellerRow.banned.is_(False),
    )
)
_ELIGIBLE_IN_CATEGORY = _ELIGIBLE.where(AssetRow.category == bindparam("category"))


def eligible_assets(
    db: Database, asset_ids: Iterable[str], *, category: str | None = None
) -> dict[str, EligibleAsset]:
    """The subset of ``asset_ids`` that may be recommended now, with seller and category."""
    ids = list(dict.fromkeys(asset_ids))
    out: dict[str, EligibleAsset] = {}
    if not ids:
        return out
    stmt = _ELIGIBLE if category is None else _ELIGIBLE_IN_CATEGORY
    with db.engine.connect() as conn:
        for start in range(0, len(ids), _CHUNK):
            params: dict[str, object] = {"ids": ids[start : start + _CHUNK]}
            if category is not None:
                params["category"] = category
            for aid, seller, cat in conn.execute(stmt, params):
                out[aid] = EligibleAsset(seller, cat)
    return out


def eligible_ids(db: Database, *, category: str | None = None, limit: int = 100_000) -> set[str]:
    """Every recommendable asset id (optionally of one category)."""
    stmt = (
        select(AssetRow.id)
        .join(SellerRow, SellerRow.id == AssetRow.seller_id)
        .where(
            AssetRow.status == AssetStatus.ACTIVE.value,
            or_(AssetRow.stock.is_(None), AssetRow.stock > 0),
            SellerRow.banned.is_(False),
        )
        .limit(limit)
    )
    if category is not None:
        stmt = stmt.where(AssetRow.category == category)
    with db.session() as s:
        return set(s.scalars(stmt))


def diversify(
    items: Sequence[ScoredItem], sellers: Mapping[str, str], *, n: int, max_per_seller: int
) -> list[ScoredItem]:
    """Keep score order but at most ``max_per_seller`` per seller in the first ``n``;
    the overflow goes after, so a short catalog still fills the list."""
    counts: Counter[str] = Counter()
    head: list[ScoredItem] = []
    overflow: list[ScoredItem] = []
    for item in items:
        seller = sellers.get(item.asset_id, "")
        if counts[seller] < max_per_seller:
            counts[seller] += 1
            head.append(item)
        else:
            overflow.append(item)
    return (head + overflow)[:n]


def filter_items(
    db: Database,
    items: Sequence[ScoredItem],
    *,
    n: int,
    purchased: Collection[str] = (),
    category: str | None = None,
    max_per_seller: int = 3,
) -> list[ScoredItem]:
    """Eligible, not purchased, de-duplicated, seller-diversified top ``n``."""
    first = {i.asset_id: i for i in reversed(items)}  # the best-scored copy wins
    unique = [first[a] for a in dict.fromkeys(i.asset_id for i in items) if a not in purchased]
    ok = eligible_assets(db, (i.asset_id for i in unique), category=category)
    kept = [i for i in unique if i.asset_id in ok]
    return diversify(
        kept, {a: e.seller_id for a, e in ok.items()}, n=n, max_per_seller=max_per_seller
    )
