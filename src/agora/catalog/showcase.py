"""What the public landing page may show: the newest active assets and their images.

A public page shows only what search would show anyone (the catalog rules of
``agora.eligibility.rules``): active assets of sellers that are not banned,
never a pending, flagged or banned one (moderation has not cleared it). Both reads
are bounded (``limit``; one row for an image).

Example:
    >>> Showcase(platform.db).newest(48)[0][0].status  # doctest: +SKIP
    'active'
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, cast, select

from agora.eligibility.rules import CATALOG, shown_clause
from agora.storage.database import Database
from agora.storage.tables import AssetRow, SellerRow


class Showcase:
    """Read-only views of the active catalog for a public page."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def newest(self, limit: int) -> list[tuple[AssetRow, str | None]]:
        """The newest active assets with their sellers' names (detached rows)."""
        with self.db.session() as session:
            q = (
                select(AssetRow, SellerRow.name)
                .join(SellerRow, SellerRow.id == AssetRow.seller_id)
                .where(shown_clause(CATALOG))
                .order_by(AssetRow.created_at.desc(), AssetRow.id)
                .limit(limit)
            )
            rows = [(asset, name) for asset, name in session.execute(q)]
            session.expunge_all()
            return rows

    def image(self, sha256: str) -> dict[str, Any] | None:
        """The image reference (``sha256``, ``media_type``, ...) of an active asset
        with this content hash; None when no active asset shows it.

        ``sha256`` must be validated hex: it goes into a LIKE pattern.
        """
        with self.db.session() as session:
            images = session.scalars(
                select(AssetRow.images)
                .join(SellerRow, SellerRow.id == AssetRow.seller_id)
                .where(
                    shown_clause(CATALOG),
                    cast(AssetRow.images, String).like(f"%{sha256}%"),
                )
                .limit(1)
            ).first()
        return next((i for i in images or [] if i.get("sha256") == sha256), None)
