"""An in-memory eligibility snapshot of the catalog, for filtering search candidates.

Filtering a thousand fused candidates against the catalog on every query (an
``IN`` query joining sellers, full rows loaded) cost ~50 ms of a ~150 ms
hybrid query at 100k assets. The snapshot keeps, for every *visible* asset
(status ``active``, seller not banned), only what filters need: category,
price, stock, seller, tags and image count. Candidates are filtered in memory;
only the returned page is then read from the catalog, with the full
visibility and filter conditions, so a hit that is no longer visible is never
shown even when the snapshot lags (``HybridSearch._assemble``).

Freshness:

- changes made in this process through the ORM (catalog API, moderation,
  pipeline steps) are seen by the next query: SQLAlchemy events record the
  touched asset and seller ids and the snapshot reloads just those rows;
- changes made by other processes (a separate worker) are picked up in the
  background once the snapshot is older than ``max_age_s``
  (``SearchSettings.snapshot_max_age_s``), by reloading the assets and the
  sellers' assets whose ``updated_at`` moved since the last refresh (a scan
  in the database, a few ms at 100k; a full reload held the GIL for ~1 s and
  stalled concurrent queries). The staleness is bounded by that age plus one
  refresh. Hard deletes by other processes leave an id until the next full
  reload (``FULL_RELOAD_S``); meanwhile a hit that is no longer visible is
  dropped at page hydration, and a newly visible asset appears after the
  refresh.

Example:
    >>> snap = CatalogSnapshot(db, max_age_s=5.0)  # doctest: +SKIP
    >>> snap.passes("a1", SearchFilters(max_price=5.0))  # doctest: +SKIP
    True
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, event, select
from sqlalchemy.orm import Session

from agora.domain import AssetStatus
from agora.search.base import SearchFilters
from agora.search.filters import _conditions
from agora.storage.database import Database
from agora.storage.tables import AssetRow, SellerRow, utcnow

log = logging.getLogger("agora.search.snapshot")
# Changes remembered for snapshots that have not caught up yet; past this a full reload.
_LOG_LIMIT = 10_000
# A full reload (for hard deletes made by other processes) at most this often.
FULL_RELOAD_S = 600.0
# Overlap of incremental refreshes: covers clock skew and in-flight transactions.
_SLACK_S = 5.0


@dataclass(frozen=True, slots=True)
class Eligible:
    """Filterable facts of one visible asset."""

    category: str | None
    price: float | None
    stock: int | None
    seller_id: str
    tags: frozenset[str]
    images: int

    def matches(self, f: SearchFilters) -> bool:
        """Whether the asset passes ``f`` (same rules as ``filters._conditions``)."""
        if f.category and self.category != f.category:
            return False
        if f.seller_id and self.seller_id != f.seller_id:
            return False
        if f.min_price is not None and (self.price is None or self.price < f.min_price):
            return False
        if f.max_price is not None and (self.price is None or self.price > f.max_price):
            return False
        if f.in_stock is True and self.stock is not None and self.stock <= 0:
            return False
        if f.in_stock is False and self.stock != 0:
            return False
        return all(t.strip().lower() in self.tags for t in f.tags)


class _ChangeLog:
    """Process-wide log of catalog writes seen through the ORM: (seq, kind, id)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seq = 0
        self.entries: list[tuple[int, str, str | None]] = []

    def record(self, kind: str, id_: str | None) -> None:
        with self.lock:
            self.seq += 1
            self.entries.append((self.seq, kind, id_))
            if len(self.entries) > _LOG_LIMIT:
                del self.entries[: len(self.entries) - _LOG_LIMIT]

    def since(self, seq: int) -> tuple[int, list[tuple[str, str | None]] | None]:
        """(head, changes after ``seq``), or (head, None) when the log was cut."""
        with self.lock:
            if seq == self.seq:
                return seq, []
            if not self.entries or self.entries[0][0] > seq + 1:
                return self.seq, None
            return self.seq, [(k, i) for s, k, i in self.entries if s > seq]


CHANGES = _ChangeLog()


def _on_row(kind: str) -> Any:
    def listener(_mapper: Any, _conn: Any, target: Any) -> None:
        CHANGES.record(kind, str(target.id))

    return listener


for _op in ("after_insert", "after_update", "after_delete"):
    event.listen(AssetRow, _op, _on_row("asset"))
    event.listen(SellerRow, _op, _on_row("seller"))


@event.listens_for(Session, "do_orm_execute")
def _on_bulk(state: Any) -> None:
    # ORM-enabled update()/delete()/insert() statements name no single row.
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(getattr(state.statement, "table", None), "name", None)
        if table in (None, "assets", "sellers"):
            CHANGES.record("all", None)


def _eligible(row: Any) -> Eligible:
    return Eligible(
        category=row.category,
        price=float(row.price) if row.price is not None else None,
        stock=row.stock,
        seller_id=row.seller_id,
        tags=frozenset(str(t).strip().lower() for t in row.creator_tags or ()),
        images=len(row.images or ()),
    )


def visible_row(row: Any, filters: SearchFilters) -> bool:
    """Whether a catalog row (with ``status``, ``banned``) may be shown and passes ``filters``."""
    if row.status != AssetStatus.ACTIVE.value or row.banned or not filters.admits(row.id):
        return False
    return _eligible(row).matches(filters)


_COLUMNS = (
    AssetRow.id,
    AssetRow.category,
    AssetRow.price,
    AssetRow.stock,
    AssetRow.seller_id,
    AssetRow.creator_tags,
    AssetRow.images,
)


class CatalogSnapshot:
    """Visible assets' filterable facts, kept fresh as described in the module doc."""

    def __init__(self, db: Database, *, max_age_s: float = 5.0) -> None:
        self.db = db
        self.max_age_s = max_age_s
        self._entries: dict[str, Eligible] = {}
        self._loaded_at: float | None = None
        self._full_at = 0.0
        self._since = utcnow()
        self._seq = 0
        self._lock = threading.Lock()
        self._reloading = False

    def _query(self, *where: Any) -> dict[str, Eligible]:
        visible = and_(*_conditions(SearchFilters()))
        q = (
            select(*_COLUMNS)
            .join(SellerRow, SellerRow.id == AssetRow.seller_id, isouter=True)
            .where(visible, *where)
        )
        with self.db.session() as s:
            return {row.id: _eligible(row) for row in s.execute(q)}

    def _full_reload(self) -> None:
        head = CHANGES.seq
        started, wall = time.monotonic(), utcnow()
        entries = self._query()
        with self._lock:
            self._entries, self._loaded_at, self._full_at = entries, started, started
            self._since = wall
            self._seq = max(self._seq, head)
        log.debug("catalog snapshot: %d visible assets", len(entries))

    def _incremental(self) -> None:
        """Reload the assets (and sellers' assets) updated since the last refresh."""
        started, wall = time.monotonic(), utcnow()
        since = self._since - timedelta(seconds=_SLACK_S)
        with self.db.session() as s:
            assets = set(s.scalars(select(AssetRow.id).where(AssetRow.updated_at >= since)))
            sellers = set(s.scalars(select(SellerRow.id).where(SellerRow.updated_at >= since)))
        changes = [("asset", a) for a in assets] + [("seller", x) for x in sellers]
        if changes:
            self._apply(changes)
        self._loaded_at, self._since = started, wall

    def _background_refresh(self) -> None:
        try:
            if time.monotonic() - self._full_at > FULL_RELOAD_S:
                self._full_reload()
            else:
                self._incremental()
        except Exception:  # keep serving the previous snapshot
            log.exception("catalog snapshot refresh failed")
        finally:
            self._reloading = False

    def _apply(self, changes: Iterable[tuple[str, str | None]]) -> None:
        assets = {i for k, i in changes if k == "asset" and i}
        sellers = {i for k, i in changes if k == "seller" and i}
        fresh: dict[str, Eligible] = {}
        ids = sorted(assets)
        for start in range(0, len(ids), 900):
            fresh |= self._query(AssetRow.id.in_(ids[start : start + 900]))
        for seller in sellers:
            fresh |= self._query(AssetRow.seller_id == seller)
        with self._lock:
            entries = dict(self._entries)
            if sellers:
                for id_, e in self._entries.items():
                    if e.seller_id in sellers:
                        entries.pop(id_, None)
            for id_ in assets:
                entries.pop(id_, None)
            entries.update(fresh)
            self._entries = entries

    def _ensure_fresh(self) -> None:
        if self._loaded_at is None:
            self._full_reload()
            return
        head, changes = CHANGES.since(self._seq)
        if changes is None or any(k == "all" for k, _ in changes):
            self._full_reload()
        elif changes:
            self._apply(changes)
            self._seq = head
        if time.monotonic() - self._loaded_at > self.max_age_s and not self._reloading:
            self._reloading = True
            threading.Thread(target=self._background_refresh, daemon=True).start()

    def entries(self) -> dict[str, Eligible]:
        """Visible asset id -> facts; refreshed per the module doc before returning."""
        self._ensure_fresh()
        return self._entries
