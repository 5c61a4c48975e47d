"""The one in-process catalog view: every listing that passes the catalog rules.

Search, recommendations (cache hits) and similar items read eligibility from
here instead of each keeping a mirror of the catalog. The view keeps, for every
asset that passes the catalog's own rules (``agora.eligibility.rules``: status
``active``, seller not banned; loaded with the SQL form of those rules), only
what the remaining rules and the search filters read: category, price, stock,
seller, tags and image count. The per-request rules (stock for lists, admin
overrides, the viewer's consent and purchases) are checked on those facts by
:meth:`CatalogView.shown`.

Filtering a thousand fused search candidates against the catalog on every
query (an ``IN`` query joining sellers, full rows loaded) cost ~50 ms of a
~150 ms hybrid query at 100k assets; the view answers in memory, and a page is
still read from the catalog with the full rules before it is shown, so a hit
that is no longer visible is never shown even when the view lags
(``HybridSearch._assemble``).

Freshness:

- changes made in this process through the ORM (catalog API, moderation,
  pipeline steps) are seen by the next read: SQLAlchemy events record the
  touched asset and seller ids and the view reloads just those rows;
- changes made by other processes (a separate worker) are picked up in the
  background once the view is older than ``max_age_s``
  (``SearchSettings.snapshot_max_age_s``), by reloading the assets and the
  sellers' assets whose ``updated_at`` moved since the last refresh (a scan
  in the database, a few ms at 100k; a full reload held the GIL for ~1 s and
  stalled concurrent queries). The staleness is bounded by that age plus one
  refresh. Hard deletes by other processes leave an id until the next full
  reload (``FULL_RELOAD_S``).

The composition root owns the process's one view (``Platform.catalog_view``) and
hands it to every surface that reads it.

Example:
    >>> view = CatalogView(db, max_age_s=5.0)  # doctest: +SKIP
    >>> view.shown(["a1", "a2"], Context(LISTS))  # doctest: +SKIP
    ['a2']
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from agora.eligibility.rules import CATALOG, SHOWN_STATUS, Context, shown_select
from agora.storage.database import Database
from agora.storage.tables import AssetRow, SellerRow, utcnow

log = logging.getLogger("agora.eligibility.view")
# Changes remembered for snapshots that have not caught up yet; past this a full reload.
_LOG_LIMIT = 10_000
# A full reload (for hard deletes made by other processes) at most this often.
FULL_RELOAD_S = 600.0
# Overlap of incremental refreshes: covers clock skew and in-flight transactions.
_SLACK_S = 5.0
DEFAULT_MAX_AGE_S = 5.0


@dataclass(frozen=True, slots=True)
class ViewEntry:
    """Facts of one listing that passes the catalog rules."""

    category: str | None
    price: float | None
    stock: int | None
    seller_id: str
    tags: frozenset[str]
    images: int
    asset_id: str = ""

    # The rules read an entry as they read a Listing (no copy per candidate):
    # the view holds only active listings of sellers that are not banned.
    @property
    def status(self) -> str:
        return SHOWN_STATUS

    @property
    def seller_banned(self) -> bool:
        return False


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


def entry_of(row: Any) -> ViewEntry:
    """The view's entry of a catalog row (``category``, ``price``, ``stock``,
    ``seller_id``, ``creator_tags``, ``images``)."""
    return ViewEntry(
        category=row.category,
        price=float(row.price) if row.price is not None else None,
        stock=row.stock,
        seller_id=row.seller_id,
        tags=frozenset(str(t).strip().lower() for t in row.creator_tags or ()),
        images=len(row.images or ()),
        asset_id=row.id,
    )


_COLUMNS = (
    AssetRow.id,
    AssetRow.category,
    AssetRow.price,
    AssetRow.stock,
    AssetRow.seller_id,
    AssetRow.creator_tags,
    AssetRow.images,
)


class CatalogView:
    """Facts of the listings that pass the catalog rules, kept fresh as described in
    the module doc."""

    def __init__(self, db: Database, *, max_age_s: float = 5.0) -> None:
        self.db = db
        self.max_age_s = max_age_s
        self._entries: dict[str, ViewEntry] = {}
        self._loaded_at: float | None = None
        self._full_at = 0.0
        self._since = utcnow()
        self._seq = 0
        self._lock = threading.Lock()
        self._catch_up_lock = threading.Lock()
        self._reloading = False

    def _query(self, *where: Any) -> dict[str, ViewEntry]:
        # The SQL form of the catalog rules: the view holds what passes them.
        q = shown_select(CATALOG, *_COLUMNS).where(*where)
        with self.db.session() as s:
            return {row.id: entry_of(row) for row in s.execute(q)}

    def _full_reload(self) -> None:
        head = CHANGES.seq
        started, wall = time.monotonic(), utcnow()
        entries = self._query()
        with self._lock:
            self._entries, self._loaded_at, self._full_at = entries, started, started
            self._since = wall
            self._seq = max(self._seq, head)
        log.debug("catalog view: %d listings", len(entries))

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
            log.exception("catalog view refresh failed")
        finally:
            self._reloading = False

    def _apply(self, changes: Iterable[tuple[str, str | None]]) -> None:
        assets = {i for k, i in changes if k == "asset" and i}
        sellers = {i for k, i in changes if k == "seller" and i}
        fresh: dict[str, ViewEntry] = {}
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

    def _apply_logged(self) -> None:
        """Apply this process's ORM writes recorded since the last look."""
        head, changes = CHANGES.since(self._seq)
        if changes is None or any(k == "all" for k, _ in changes):
            self._full_reload()
        elif changes:
            self._apply(changes)
            self._seq = head

    def _ensure_fresh(self) -> None:
        if self._loaded_at is None:
            self._full_reload()
            return
        self._apply_logged()
        if time.monotonic() - self._loaded_at > self.max_age_s and not self._reloading:
            self._reloading = True
            threading.Thread(target=self._background_refresh, daemon=True).start()

    def entries(self) -> dict[str, ViewEntry]:
        """Asset id -> facts of every listing passing the catalog rules; refreshed per
        the module doc before returning."""
        self._ensure_fresh()
        return self._entries

    def current(self) -> dict[str, ViewEntry]:
        """The entries as last read, without looking for changes (no I/O once loaded):
        for a caller that keeps the view fresh itself with :meth:`catch_up`."""
        if self._loaded_at is None:
            with self._catch_up_lock:
                if self._loaded_at is None:
                    self._full_reload()
        return self._entries

    def catch_up(self) -> None:
        """Read every change now: this process's ORM writes and, by ``updated_at``,
        other processes' (a full reload when one is due)."""
        with self._catch_up_lock:
            if self._loaded_at is None or time.monotonic() - self._full_at > FULL_RELOAD_S:
                self._full_reload()
                return
            self._apply_logged()
            self._incremental()

    def shown(self, asset_ids: Sequence[str], ctx: Context) -> list[str]:
        """The ``asset_ids`` (in order) that may be shown in ``ctx``."""
        entries = self.entries()
        rules = ctx.beyond_catalog()
        if not rules:
            return [a for a in asset_ids if a in entries]
        out = []
        for a in asset_ids:
            e = entries.get(a)
            if e is not None and all(r.admits(e, ctx) for r in rules):
                out.append(a)
        return out
