"""The seller's side of an asset's risk: trust and the fate of their earlier assets.

Trust is the ranking's SellerTrust with its breakdown (``agora.ranking.trust``:
base score, verified ID, tenure, reports); history counts the seller's other
assets that ended ``banned`` or ``flagged``.

Example:
    >>> seller_context(platform.db, "s1", exclude="a-9")  # doctest: +SKIP
    SellerContext(trust=0.6, ..., earlier=12, earlier_banned=1, earlier_flagged=0)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from agora.domain import AssetStatus
from agora.quality.risk.signals import SellerContext
from agora.ranking.trust import seller_trust
from agora.storage.tables import AssetRow, SellerRow

if TYPE_CHECKING:
    from agora.storage.database import Database


def seller_context(db: Database, seller_id: str | None, *, exclude: str) -> SellerContext | None:
    """The seller's trust and history (``exclude``: the asset being scored); None
    for an unknown seller."""
    if not seller_id:
        return None
    with db.session() as s:
        row = s.get(SellerRow, seller_id)
        if row is None:
            return None
        counts = dict(
            s.execute(
                select(AssetRow.status, func.count())
                .where(AssetRow.seller_id == seller_id, AssetRow.id != exclude)
                .group_by(AssetRow.status)
            )
            .tuples()
            .all()
        )
        record = {
            "trust_score": row.trust_score,
            "verified": row.verified,
            "banned": row.banned,
            "attributes": row.attributes,
            "created_at": row.created_at,
        }
    trust, lines = seller_trust(record)
    return SellerContext(
        trust=trust,
        trust_lines=lines,
        banned=bool(row.banned),
        earlier=int(sum(counts.values())),
        earlier_banned=int(counts.get(AssetStatus.BANNED.value, 0)),
        earlier_flagged=int(counts.get(AssetStatus.FLAGGED.value, 0)),
    )
