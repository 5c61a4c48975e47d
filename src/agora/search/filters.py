"""Catalog-side filtering of search candidates: the catalog is the source of truth.

Indexes hold text and vectors only; whether an asset may be shown (the one
definition in ``agora.eligibility.rules`` under the ``SEARCH`` policy: status
``active``, seller not banned, no admin override banning the asset, its seller
or its category) and whether it matches the caller's filters is decided here,
against the catalog, at query time. So a flagged, pending, banned or removed
asset is never returned, even while its vectors are still in an index.

Two ways in:

- ``allowed_ids``: for selective filters, the ids that pass, computed first
  and handed to the indexes (pre-filtering), so a filter matching few assets
  still fills a page;
- ``visible``: for the candidates the indexes returned (post-filtering), the
  catalog entries of those that pass.

Example:
    >>> cat = CatalogFilter(db)  # doctest: +SKIP
    >>> cat.visible(["a1", "a2"], SearchFilters(max_price=5.0))  # doctest: +SKIP
    {'a1': CatalogEntry(id='a1', title='Tank', ...)}
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, or_, select

from agora.eligibility.rules import CATALOG, SEARCH, Bans, Context, Listing, shown, shown_select
from agora.eligibility.view import CatalogView, ViewEntry, entry_of
from agora.search.base import SearchFilters
from agora.storage.database import Database
from agora.storage.tables import AssetRow, SellerRow

if TYPE_CHECKING:
    from agora.features.base import OverrideReader

# SQLite allows 32,766 bound parameters; stay well below on every backend.
_CHUNK = 900


@dataclass(frozen=True)
class CatalogEntry:
    """The catalog fields search shows and highlights."""

    id: str
    title: str
    description: str
    tags: tuple[str, ...]
    category: str | None
    price: float | None
    seller_id: str


def matches(entry: ViewEntry, f: SearchFilters) -> bool:
    """Whether a view entry passes ``f`` (the same rules as ``_conditions``; the
    ``ids`` filter is the caller's)."""
    if f.category and entry.category != f.category:
        return False
    if f.seller_id and entry.seller_id != f.seller_id:
        return False
    if f.min_price is not None and (entry.price is None or entry.price < f.min_price):
        return False
    if f.max_price is not None and (entry.price is None or entry.price > f.max_price):
        return False
    if f.in_stock is True and entry.stock is not None and entry.stock <= 0:
        return False
    if f.in_stock is False and entry.stock != 0:
        return False
    return all(t.strip().lower() in entry.tags for t in f.tags)


def _conditions(filters: SearchFilters) -> list[Any]:
    """SQL form of the caller's filters (eligibility comes from ``shown_clause``)."""
    conds: list[Any] = []
    if filters.ids:
        conds.append(AssetRow.id.in_(filters.ids))
    if filters.category:
        conds.append(AssetRow.category == filters.category)
    if filters.seller_id:
        conds.append(AssetRow.seller_id == filters.seller_id)
    if filters.min_price is not None:
        conds.append(AssetRow.price >= Decimal(str(filters.min_price)))
    if filters.max_price is not None:
        conds.append(AssetRow.price <= Decimal(str(filters.max_price)))
    if filters.in_stock is True:  # unknown stock (digital goods) counts as in stock
        conds.append(or_(AssetRow.stock.is_(None), AssetRow.stock > 0))
    elif filters.in_stock is False:
        conds.append(AssetRow.stock == 0)
    return conds


def _visible(row: Any, filters: SearchFilters, ctx: Context) -> bool:
    """Whether a catalog row (with ``status``, ``banned``) may be shown in ``ctx``
    and passes ``filters`` (the Python form of the rules, on the row read)."""
    listing = Listing(row.id, row.status, row.stock, row.seller_id, bool(row.banned), row.category)
    if not shown(listing, ctx) or not filters.admits(row.id):
        return False
    return matches(entry_of(row), filters)


def _has_tags(tags: Iterable[Any], wanted: Sequence[str]) -> bool:
    have = {str(t).strip().lower() for t in tags or ()}
    return all(t.strip().lower() in have for t in wanted)


def _entry(row: Any) -> CatalogEntry:
    return CatalogEntry(
        id=row.id,
        title=row.title or "",
        description=row.description or "",
        tags=tuple(str(t) for t in row.creator_tags or ()),
        category=row.category,
        price=float(row.price) if row.price is not None else None,
        seller_id=row.seller_id,
    )


_COLUMNS = (
    AssetRow.id,
    AssetRow.title,
    AssetRow.description,
    AssetRow.creator_tags,
    AssetRow.category,
    AssetRow.price,
    AssetRow.seller_id,
)


class CatalogFilter:
    """Applies eligibility and ``SearchFilters`` against the catalog."""

    def __init__(
        self,
        db: Database,
        snapshot: CatalogView | None = None,
        *,
        overrides: OverrideReader | None = None,
    ) -> None:
        self.db = db
        # The shared in-process view (agora.eligibility.view): candidates are
        # filtered there; only the returned page is read from the database (``visible``).
        self.snapshot = snapshot
        self.overrides = overrides

    def context(self) -> Context:
        """This query's eligibility: the search policy and the admin bans in force."""
        if self.overrides is None:
            return CATALOG
        bans = Bans.of(self.overrides.active_overrides())
        return Context(SEARCH, bans) if bans else CATALOG

    def eligible(self, ids: Sequence[str], filters: SearchFilters) -> list[str]:
        """The ``ids`` the view says may be shown and pass ``filters``, in order
        (every id when there is no view: ``visible`` then decides)."""
        if self.snapshot is None:
            return list(ids)
        shown_ids = self.snapshot.shown(ids, self.context())
        if filters.empty:
            return shown_ids
        entries = self.snapshot.entries()
        return [i for i in shown_ids if filters.admits(i) and matches(entries[i], filters)]

    def _select(self, filters: SearchFilters, *columns: Any, ctx: Context = CATALOG) -> Select[Any]:
        return shown_select(ctx, *columns).where(*_conditions(filters))

    def allowed_ids(self, filters: SearchFilters, *, limit: int) -> dict[str, int] | None:
        """Ids passing ``filters`` (with their number of images, for the
        per-image indexes) when at most ``limit`` do; None when more do (then
        pre-filtering would not narrow the search: post-filter instead)."""
        if filters.empty:
            return None
        # Named ids are always an allow-list for the indexes, however many pass.
        limit = max(limit, len(filters.ids))
        ctx = self.context()
        if self.snapshot is not None:
            found: dict[str, int] = {}
            entries = self.snapshot.entries()
            rules = ctx.beyond_catalog()
            # An ``ids`` filter names the few candidates: look them up, no scan.
            pairs = (
                ((i, e) for i in dict.fromkeys(filters.ids) if (e := entries.get(i)) is not None)
                if filters.ids
                else entries.items()
            )
            for id_, e in pairs:
                if matches(e, filters) and all(r.admits(e, ctx) for r in rules):
                    found[id_] = e.images
                    if len(found) > limit:
                        return None
            return found
        cols = (AssetRow.id, AssetRow.creator_tags, AssetRow.images)
        with self.db.session() as s:
            rows = list(s.execute(self._select(filters, *cols, ctx=ctx).limit(limit + 1)))
        if len(rows) > limit:
            return None
        return {r.id: len(r.images or ()) for r in rows if _has_tags(r.creator_tags, filters.tags)}

    def visible(self, ids: Sequence[str], filters: SearchFilters) -> dict[str, CatalogEntry]:
        """Catalog entries of the ``ids`` that may be shown and pass ``filters``."""
        ctx = self.context()
        found: dict[str, CatalogEntry] = {}
        unique = list(dict.fromkeys(ids))
        # Rows by primary key, conditions checked here: with the conditions in
        # SQL, SQLite scanned the status index (every active asset) instead.
        cols = (*_COLUMNS, AssetRow.status, AssetRow.stock, AssetRow.images, SellerRow.banned)
        with self.db.session() as s:
            for start in range(0, len(unique), _CHUNK):
                chunk = unique[start : start + _CHUNK]
                q = (
                    select(*cols)
                    .join(SellerRow, SellerRow.id == AssetRow.seller_id, isouter=True)
                    .where(AssetRow.id.in_(chunk))
                )
                for row in s.execute(q):
                    if _visible(row, filters, ctx):
                        found[row.id] = _entry(row)
        return found

    def words(self) -> dict[str, int]:
        """Word -> number of visible assets whose title or tags use it (the
        spelling dictionary of ``agora.search.spelling``)."""
        from agora.search.spelling import words_of

        counts: Counter[str] = Counter()
        cols = (AssetRow.title, AssetRow.creator_tags)
        with self.db.session() as s:
            for row in s.execute(self._select(SearchFilters(), *cols)):
                tags = " ".join(str(t) for t in row.creator_tags or ())
                counts.update(set(words_of(f"{row.title or ''} {tags}")))
        return dict(counts)

    def entry(self, asset_id: str) -> CatalogEntry | None:
        """Any asset's entry whatever its status (the subject of a similar-items query)."""
        with self.db.session() as s:
            row = s.execute(select(*_COLUMNS).where(AssetRow.id == asset_id)).first()
        return _entry(row) if row is not None else None
