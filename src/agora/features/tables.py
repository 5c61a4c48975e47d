"""Catalog tables of the feature store: global overrides.

Example:
    >>> OverrideRow.__tablename__
    'feature_overrides'
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agora.storage.tables import Base, Stamp, utcnow


class OverrideRow(Base):
    """An admin boost or ban; ``deleted_at`` set when lifted (rows are kept for audit)."""

    __tablename__ = "feature_overrides"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    action: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(16), index=True)
    value: Mapped[str] = mapped_column(String(256))
    multiplier: Mapped[float] = mapped_column(Float, default=1.0)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(Stamp, index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(Stamp, index=True)
    # An expired asset/seller ban whose catalog ban was lifted by the sweep.
    settled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The catalog status a ban replaced ("pending", "flagged", "active"; "active" for a
    # seller), restored when the last ban on the target is lifted. None when the target
    # was already banned by something else (moderation, a seller ban): lifting the
    # override must not undo that.
    prior_status: Mapped[str | None] = mapped_column(String(16), default=None)
