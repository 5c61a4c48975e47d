"""Moderation state: the review queue, labelled examples, the pipeline sync mark.

Migration: ``storage/migrations/versions/0005_moderation.py`` (branch
``moderation``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agora.storage.tables import Base, BigId, Stamp, utcnow


class ModerationItemRow(Base):
    """One asset waiting for (or given) a human decision."""

    __tablename__ = "moderation_items"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # What produced the item, unique so a redelivered job or a repeated
    # rescan never queues the same thing twice ("job:<id>", "rescan:<id>:<rev>").
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    asset_id: Mapped[str] = mapped_column(String(64), index=True)
    seller_id: Mapped[str | None] = mapped_column(String(128), index=True)
    source: Mapped[str] = mapped_column(String(16))  # pipeline | rescan
    kind: Mapped[str] = mapped_column(String(16))  # review | block | post_hoc
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)
    safety_score: Mapped[float | None] = mapped_column(Float)
    risk: Mapped[float] = mapped_column(Float, default=0.0)
    recommended_action: Mapped[str] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(16))
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    models: Mapped[list[Any]] = mapped_column(default=list)
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(Stamp)
    note: Mapped[str | None] = mapped_column(Text)
    appeal: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow, onupdate=utcnow)


class ModerationExampleRow(Base):
    """A moderator decision turned into a labelled training example (with consent)."""

    __tablename__ = "moderation_examples"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(String(32), index=True)
    asset_id: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    # {"offensive": 0|1, "hate": 0|1, "spam": 0|1}: only labels the moderator set.
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    decision: Mapped[str] = mapped_column(String(16))
    consent_version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class ModerationSyncRow(Base):
    """How far the queue has read the pipeline's recorded moderation results."""

    __tablename__ = "moderation_sync"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_result_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow, onupdate=utcnow)
