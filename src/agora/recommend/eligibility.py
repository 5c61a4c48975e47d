"""The catalog is the truth: drop what must never be recommended, then diversify sellers.

Whether an asset may be recommended is the one definition of
``agora.eligibility.rules`` under the ``LISTS`` policy: ``active``, in stock
(``stock`` NULL means unlimited, digital goods), seller not banned, no admin
override banning the asset, its seller or its category; and a user who allows
personalisation never gets an asset they already purchased. One indexed ``IN``
query per list (the SQL form of the rules), so the check runs on every
computed list (a ban takes effect at once); cache hits are re-checked in
memory (``agora.recommend.gate``).

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
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam

from agora.eligibility.rules import LISTS, NO_BANS, Bans, Context, Viewer, shown_select
from agora.recommend.base import ScoredItem
from agora.storage.database import Database
from agora.storage.tables import AssetRow

_CHUNK = 900  # stay under SQLite's bound-parameter limit


@dataclass(frozen=True)
class EligibleAsset:
    seller_id: str
    category: str | None


@lru_cache(maxsize=1)
def _unbanned() -> tuple[Select[Any], Select[Any]]:
    # Without bans (the usual case) one statement each, built once: SQLAlchemy
    # caches its compiled form by shape, the expanding parameter takes the ids.
    return _statements(NO_BANS)


def _statements(bans: Bans) -> tuple[Select[Any], Select[Any]]:
    """(any category, one category) statements of the ids that pass the rules."""
    stmt = shown_select(
        Context(LISTS, bans), AssetRow.id, AssetRow.seller_id, AssetRow.category
    ).where(AssetRow.id.in_(bindparam("ids", expanding=True)))
    return stmt, stmt.where(AssetRow.category == bindparam("category"))


def eligible_assets(
    db: Database,
    asset_ids: Iterable[str],
    *,
    category: str | None = None,
    bans: Bans = NO_BANS,
) -> dict[str, EligibleAsset]:
    """The subset of ``asset_ids`` that may be recommended now, with seller and category."""
    ids = list(dict.fromkeys(asset_ids))
    out: dict[str, EligibleAsset] = {}
    if not ids:
        return out
    anywhere, in_category = _statements(bans) if bans else _unbanned()
    stmt = anywhere if category is None else in_category
    # A plain connection (no ORM session): this runs on every computed list.
    with db.engine.connect() as conn:
        for start in range(0, len(ids), _CHUNK):
            params: dict[str, object] = {"ids": ids[start : start + _CHUNK]}
            if category is not None:
                params["category"] = category
            for aid, seller, cat in conn.execute(stmt, params):
                out[aid] = EligibleAsset(seller, cat)
    return out


def eligible_ids(
    db: Database, *, category: str | None = None, bans: Bans = NO_BANS, limit: int = 100_000
) -> set[str]:
    """Every recommendable asset id (optionally of one category)."""
    stmt = shown_select(Context(LISTS, bans), AssetRow.id).limit(limit)
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
    bans: Bans = NO_BANS,
) -> list[ScoredItem]:
    """Eligible, not purchased, de-duplicated, seller-diversified top ``n``.

    ``purchased``: what the viewer bought, when they allow personalisation (the
    consent rule; empty for a non-personal list)."""
    first = {i.asset_id: i for i in reversed(items)}  # the best-scored copy wins
    unique = [first[a] for a in dict.fromkeys(i.asset_id for i in items)]
    # The consent rule in its Python form (the purchases are already in hand),
    # the others in SQL.
    viewer = Viewer("", purchased=frozenset(purchased))
    ok = eligible_assets(db, (i.asset_id for i in unique), category=category, bans=bans)
    kept = [i for i in unique if i.asset_id in ok and viewer.may_see(i.asset_id)]
    return diversify(
        kept, {a: e.seller_id for a, e in ok.items()}, n=n, max_per_seller=max_per_seller
    )
