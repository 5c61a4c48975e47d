"""Tagging state: the latest result per asset, feedback, and the head inputs.

Migrations: ``storage/migrations/versions/0008_tagging.py`` (branch ``tagging``),
``0008a_tag_writebacks.py`` and ``0008b_tag_taxonomy.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from agora.storage.tables import Base, BigId, Stamp, utcnow


class TagResultRow(Base):
    """The latest tagging result of an asset (the ADR response, persisted)."""

    __tablename__ = "tag_results"
    asset_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    quality_score: Mapped[float] = mapped_column(Float)
    total_processing_time: Mapped[float] = mapped_column(Float)
    models_used: Mapped[list[Any]] = mapped_column(default=list)
    consent_version: Mapped[int] = mapped_column(Integer)
    cloud: Mapped[dict[str, Any]] = mapped_column(default=dict)
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    processed_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class TagEmbeddingRow(Base):
    """The trained heads' input vector of an asset, keyed by the encoders that made it."""

    __tablename__ = "tag_embeddings"
    asset_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    encoder: Mapped[str] = mapped_column(String(255))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow, onupdate=utcnow)


class TagFeedbackRow(Base):
    """A confirmation or rejection of one tag on one asset (append-only; latest wins)."""

    __tablename__ = "tag_feedback"
    # Never reuse an id on SQLite: a reset deletes rows, and the retraining trigger
    # counts rows above the last trained id (``agora.tagging.training``).
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(String(64), index=True)
    owner_id: Mapped[str] = mapped_column(String(128), index=True)
    category: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(128))
    verdict: Mapped[str] = mapped_column(String(16))  # confirm | reject
    role: Mapped[str] = mapped_column(String(16))  # creator | moderator | admin
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow, index=True)


class TagWritebackRow(Base):
    """A confirmed tag that Agora wrote into the asset's own tags (and may remove
    again on a later rejection); the creator's own tags never have a row."""

    __tablename__ = "tag_writebacks"
    asset_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(128), primary_key=True)
    tag: Mapped[str] = mapped_column(String(128))  # the string written to the asset
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class TagTaxonomyVersionRow(Base):
    """One version of the taxonomy document (``agora.tagging.taxonomy_store``)."""

    __tablename__ = "tag_taxonomy_versions"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[dict[str, Any]] = mapped_column()
    change: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what this version changed
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class TagResetRow(Base):
    """A reset of one category (``*``: all): its feedback was deleted, and head
    versions up to ``heads_upto`` no longer serve it (``agora.tagging.reset``)."""

    __tablename__ = "tag_resets"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    category: Mapped[str] = mapped_column(String(64), index=True)
    heads_upto: Mapped[int] = mapped_column(Integer)
    feedback_deleted: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class TagTrainingLeaseRow(Base):
    """Who trains the tag heads now, until when (``agora.tagging.lease``)."""

    __tablename__ = "tag_training_leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(128), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(Stamp, nullable=True)
