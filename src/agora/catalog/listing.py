"""Filtered, keyset-paginated asset listing (stable under concurrent inserts)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from agora.catalog.views import asset_view
from agora.errors import InvalidInput
from agora.storage.tables import AssetRow


@dataclass(frozen=True)
class AssetFilter:
    """Listing filters; ``cursor`` is the opaque value from the previous page."""

    status: str | None = None
    seller_id: str | None = None
    category: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool | None = None
    limit: int = 50
    cursor: str | None = None


def encode_cursor(row: AssetRow) -> str:
    """Opaque cursor: the (created_at, id) of the last row of a page."""
    raw = json.dumps([row.created_at.isoformat(), row.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Inverse of ``encode_cursor``; a tampered cursor is a 422."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, asset_id = json.loads(raw)
        return datetime.fromisoformat(stamp), str(asset_id)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise InvalidInput("invalid cursor") from None


def list_assets(s: Session, flt: AssetFilter) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first; returns the page and the next cursor (None on the last page)."""
    if not 1 <= flt.limit <= 500:
        raise InvalidInput("limit must be between 1 and 500")
    q = select(AssetRow)
    conds: list[Any] = []
    if flt.status:
        conds.append(AssetRow.status == flt.status)
    if flt.seller_id:
        conds.append(AssetRow.seller_id == flt.seller_id)
    if flt.category:
        conds.append(AssetRow.category == flt.category)
    if flt.min_price is not None:
        conds.append(AssetRow.price >= flt.min_price)
    if flt.max_price is not None:
        conds.append(AssetRow.price <= flt.max_price)
    if flt.in_stock is True:
        conds.append(or_(AssetRow.stock.is_(None), AssetRow.stock > 0))
    elif flt.in_stock is False:
        conds.append(AssetRow.stock == 0)
    if flt.cursor:
        stamp, last_id = decode_cursor(flt.cursor)
        conds.append(
            or_(
                AssetRow.created_at < stamp,
                and_(AssetRow.created_at == stamp, AssetRow.id < last_id),
            )
        )
    if conds:
        q = q.where(and_(*conds))
    rows = list(
        s.scalars(q.order_by(AssetRow.created_at.desc(), AssetRow.id.desc()).limit(flt.limit + 1))
    )
    more = len(rows) > flt.limit
    rows = rows[: flt.limit]
    return [asset_view(r) for r in rows], (encode_cursor(rows[-1]) if more and rows else None)
