"""eKYC state: one row per match (keyed hashes and encrypted embeddings only) and
the encrypted originals an operator chose to keep, with their expiry.

Migration: ``storage/migrations/versions/0010_h26v_ekyc.py`` (branch ``identity``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from agora.storage.tables import Base, Stamp, utcnow


class EkycMatchRow(Base):
    """One face match: the outcome, and per photo the embedding's HMAC and its AES-GCM box."""

    __tablename__ = "ekyc_matches"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject_ref: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    hash_a: Mapped[str] = mapped_column(String(64), index=True)
    hash_b: Mapped[str] = mapped_column(String(64), index=True)
    embedding_a: Mapped[bytes] = mapped_column(LargeBinary)
    embedding_b: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(16))
    distance: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    matched: Mapped[bool] = mapped_column(Boolean)
    liveness_prob: Mapped[float | None] = mapped_column(Float, nullable=True)
    flags: Mapped[list[Any]] = mapped_column(default=list)
    model: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class EkycOriginalRow(Base):
    """An encrypted original photo kept in the blob store until ``expires_at``."""

    __tablename__ = "ekyc_originals"
    blob_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    match_id: Mapped[str] = mapped_column(String(32), index=True)
    role: Mapped[str] = mapped_column(String(32))
    key_id: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(Stamp, index=True)
