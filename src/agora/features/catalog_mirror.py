"""Asset features that mirror the catalog, refreshed on catalog events.

``stock_status``, ``price`` and ``category`` are snapshotted with the asset batch view,
but the catalog stays the source of truth (issue 5: stock status is a real-time
feature): when an asset is updated, settled by the pipeline or deleted, its row is
re-read from the catalog and written online at once, instead of waiting for the next
``agora features materialize``. The write is stamped with the catalog's
``updated_at``, so a late redelivery never overwrites a newer value.

Example:
    >>> mirror_assets(platform.db, platform.features.online, ["a1"])  # doctest: +SKIP
    1
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from agora.bus.base import Topics
from agora.domain import AssetStatus
from agora.features.materialize import _stock
from agora.storage.tables import AssetRow

if TYPE_CHECKING:
    from agora.bus.base import EventBus
    from agora.features.base import OnlineStore
    from agora.storage.database import Database

CATALOG_GROUP = "features-catalog"
CATALOG_TOPICS = (Topics.ASSET_UPDATED, Topics.ASSET_PROCESSED, Topics.ASSET_DELETED)


def mirror_assets(db: Database, online: OnlineStore, asset_ids: Sequence[str]) -> int:
    """Write the catalog's stock status, price and category of these assets online;
    an id gone from the catalog reads ``unavailable``. Returns rows written."""
    ids = list(dict.fromkeys(asset_ids))
    if not ids:
        return 0
    with db.session() as s:
        rows = {r.id: r for r in s.scalars(select(AssetRow).where(AssetRow.id.in_(ids)))}
        now = time.time()
        stock: list[str] = []
        price: list[float | None] = []
        category: list[str] = []
        stamp: list[float] = []
        for i in ids:
            row = rows.get(i)
            if row is None:
                stock.append(_stock(AssetStatus.REMOVED.value, None))
                price.append(None)
                category.append("")
                stamp.append(now)
                continue
            stock.append(_stock(row.status, row.stock))
            price.append(float(row.price) if row.price is not None else None)
            category.append(row.category or "")
            stamp.append(row.updated_at.timestamp() if row.updated_at else now)
    values: dict[str, Sequence[Any]] = {"stock_status": stock, "price": price, "category": category}
    online.write("asset", ids, values, stamp)
    return len(ids)


def mirror_pending(
    bus: EventBus, db: Database, online: OnlineStore, consumer: str, *, max_count: int = 500
) -> int:
    """Consume queued catalog events (``CATALOG_GROUP``) from ``bus``, mirror their
    assets from ``db`` into ``online``, ack."""
    handled = 0
    for topic in CATALOG_TOPICS:
        deliveries = bus.consume(topic, CATALOG_GROUP, consumer, max_count=max_count, block_ms=0)
        if not deliveries:
            continue
        mirror_assets(db, online, [str(d.event.payload["asset_id"]) for d in deliveries])
        bus.ack_many(deliveries)
        handled += len(deliveries)
    return handled
