"""Auto-reply state: operator-approved templates and sellers' past replies.

Migration: ``storage/migrations/versions/0009_h26t_autoreply.py`` (branch ``autoreply``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agora.storage.tables import Base, BigId, Stamp, utcnow


class ReplyTemplateRow(Base):
    """An operator-approved reply for one language and chat intent, with slots
    (``{price}``, ``{stock}``, ``{shipping}``, ``{title}``) filled from the listing."""

    __tablename__ = "auto_reply_templates"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    language: Mapped[str] = mapped_column(String(16), index=True)
    intent: Mapped[str] = mapped_column(String(16), index=True)
    # None: any emotion; else the emotions the template suits (e.g. an apology for anger).
    emotions: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow, onupdate=utcnow)


class SellerReplyRow(Base):
    """A reply a seller sent or accepted, stored with listing facts turned back into
    slots (so reusing it never repeats another listing's price)."""

    __tablename__ = "auto_reply_history"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seller_id: Mapped[str] = mapped_column(String(128), index=True)
    language: Mapped[str | None] = mapped_column(String(16))
    intent: Mapped[str | None] = mapped_column(String(16))
    emotion: Mapped[str | None] = mapped_column(String(16))
    buyer_message: Mapped[str] = mapped_column(Text)
    reply: Mapped[str] = mapped_column(Text)  # with slots, e.g. "Yes, {stock} left"
    action: Mapped[str] = mapped_column(String(16))  # sent | accepted
    suggestion_source: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow, index=True)
