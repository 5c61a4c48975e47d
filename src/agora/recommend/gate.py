"""In-process catalog gate for cache hits: what may be served, without a query per request.

A cached list was filtered against the catalog when it was computed; by the
time it is served again an asset may have been banned, sold out or bought by
the user. Re-querying the catalog on every hit made the query the floor of a
cache hit (0.3 ms median, 5 ms p99 on a busy machine). The gate keeps the
eligibility of every asset (status, stock, seller, category), the banned
sellers, the users who opted out of personalisation and the purchases seen
since it started, in memory, and follows the catalog's changes by a delta read:

- assets, sellers and consents whose ``updated_at`` is within ``MARGIN_S`` of
  the last read (the margin re-reads rows of transactions that committed late);
- purchases with an interaction id above the last seen one minus
  ``ID_MARGIN`` (ids of concurrent transactions may commit out of order).

The delta read runs in a background thread once the snapshot is older than
``refresh_s``; a request only waits for it when the snapshot is older than
``2 * refresh_s`` (no traffic for a while). So a ban, a sell-out or a purchase
(or an opt-out) reaches cache hits within ``2 * refresh_s`` in every API process, whatever
process or tool changed the catalog (writes through SQLAlchemy set
``updated_at``); the uncached path still filters with an exact query.

Example:
    >>> gate = CatalogGate(platform.db, refresh_s=0.5)  # doctest: +SKIP
    >>> gate.admit(["a1", "a2"], user_id="u1", category=None)  # doctest: +SKIP
    ['a2']
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from agora.domain import AssetStatus
from agora.storage.database import Database
from agora.storage.tables import AssetRow, ConsentRow, InteractionRow, SellerRow, utcnow

MARGIN_S = 10.0
ID_MARGIN = 1000


@dataclass(frozen=True)
class _Asset:
    seller_id: str
    category: str | None
    listed: bool  # active and in stock


class CatalogGate:
    """Eligibility of assets, banned sellers and recent purchases, kept fresh by delta reads."""

    def __init__(self, db: Database, *, refresh_s: float = 0.5, purchase_ttl_s: float = 900.0):
        self.db = db
        self.refresh_s = refresh_s
        self.purchase_ttl_s = purchase_ttl_s
        self._assets: dict[str, _Asset] = {}
        self._banned: set[str] = set()
        self._opted_out: set[str] = set()  # users with allows_personalization false
        self._purchases: dict[tuple[str, str], float] = {}  # (user, asset) -> seen at
        self._since: datetime | None = None
        self._last_id = 0
        self._read_at = 0.0  # monotonic time the snapshot was read
        self._lock = threading.Lock()
        self._refreshing = False

    def admit(
        self, asset_ids: Sequence[str], *, user_id: str | None, category: str | None
    ) -> list[str]:
        """The ids (in order) that are listed, of a non-banned seller, of ``category`` when
        given, and not purchased by ``user_id``."""
        self._ensure_fresh()
        assets, banned, bought = self._assets, self._banned, self._purchases
        out = []
        for aid in asset_ids:
            a = assets.get(aid)
            if a is None or not a.listed or a.seller_id in banned:
                continue
            if category is not None and a.category != category:
                continue
            if user_id is not None and (user_id, aid) in bought:
                continue
            out.append(aid)
        return out

    def personalises(self, user_id: str) -> bool:
        """Whether ``user_id`` allows personalisation, as of the last catalog read."""
        self._ensure_fresh()
        return user_id not in self._opted_out

    def age_s(self) -> float:
        """Seconds since the snapshot was last read from the catalog."""
        return time.monotonic() - self._read_at

    def fresh(self) -> bool:
        """Whether :meth:`admit` can answer without waiting for a catalog read."""
        return self._since is not None and self.age_s() <= 2 * self.refresh_s

    def _ensure_fresh(self) -> None:
        age = self.age_s()
        if age <= self.refresh_s:
            return
        if age > 2 * self.refresh_s or self._since is None:
            self.refresh()  # idle for a while (or first use): wait for a fresh view
            return
        with self._lock:
            if self._refreshing:
                return
            self._refreshing = True
        threading.Thread(target=self._background, name="reco-gate", daemon=True).start()

    def _background(self) -> None:
        try:
            self.refresh()
        finally:
            self._refreshing = False

    def refresh(self) -> None:
        """Read what changed in the catalog since the last read (everything the first time)."""
        started, stamp = time.monotonic(), utcnow()
        since = None if self._since is None else self._since - timedelta(seconds=MARGIN_S)
        assets = select(
            AssetRow.id, AssetRow.seller_id, AssetRow.category, AssetRow.status, AssetRow.stock
        )
        sellers = select(SellerRow.id, SellerRow.banned)
        consents = select(ConsentRow.user_id, ConsentRow.allows_personalization)
        if since is not None:
            assets = assets.where(AssetRow.updated_at >= since)
            sellers = sellers.where(SellerRow.updated_at >= since)
            consents = consents.where(ConsentRow.updated_at >= since)
        else:  # the first read: only who opted out (the few), not every user's row
            consents = consents.where(ConsentRow.allows_personalization.is_(False))
        bought = select(InteractionRow.id, InteractionRow.user_id, InteractionRow.asset_id).where(
            InteractionRow.id > self._last_id - ID_MARGIN, InteractionRow.type == "purchase"
        )
        with self.db.engine.connect() as conn:
            asset_rows = conn.execute(assets).all()
            seller_rows = conn.execute(sellers).all()
            consent_rows = conn.execute(consents).all()
            if self._since is None:
                # A list cached (in a shared cache) before this process started may
                # predate a purchase of the last TTL.
                last = conn.execute(select(func.max(InteractionRow.id))).scalar()
                recent = stamp - timedelta(seconds=self.purchase_ttl_s + MARGIN_S)
                purchase_rows = conn.execute(
                    select(
                        InteractionRow.id, InteractionRow.user_id, InteractionRow.asset_id
                    ).where(InteractionRow.ts >= recent, InteractionRow.type == "purchase")
                ).all()
            else:
                last, purchase_rows = None, conn.execute(bought).all()
        with self._lock:
            for aid, seller, cat, status, stock in asset_rows:
                listed = status == AssetStatus.ACTIVE.value and (stock is None or stock > 0)
                self._assets[aid] = _Asset(seller, cat, listed)
            for sid, is_banned in seller_rows:
                (self._banned.add if is_banned else self._banned.discard)(sid)
            for uid, allowed in consent_rows:
                (self._opted_out.discard if allowed else self._opted_out.add)(uid)
            now = time.monotonic()
            for iid, user, aid in purchase_rows:
                self._purchases.setdefault((user, aid), now)
                self._last_id = max(self._last_id, int(iid))
            if last is not None:
                self._last_id = int(last)
            # A purchase older than the cache TTL is already reflected in every cached list.
            cutoff = now - self.purchase_ttl_s
            for key in [k for k, t in self._purchases.items() if t < cutoff]:
                del self._purchases[key]
            self._since = stamp
            self._read_at = started
