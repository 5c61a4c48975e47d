"""Feature log tables: every served list, exactly as served (the Metarank lesson).

One ``ranking_requests`` row per request (models, timings, fallbacks, SHAP of
the top items) and one ``ranking_served`` row per served slot with the exact
feature vector the scorer saw. Labelling these rows with later clicks and
purchases (``agora.ranking.labels``) gives point-in-time-correct training data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agora.storage.tables import Base, BigId, Stamp, utcnow


class RankingRequestRow(Base):
    __tablename__ = "ranking_requests"
    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(128), index=True)
    query: Mapped[str | None] = mapped_column(Text)
    ts: Mapped[datetime] = mapped_column(Stamp, default=utcnow, index=True)
    models: Mapped[dict[str, Any]] = mapped_column(default=dict)
    timings_ms: Mapped[dict[str, Any]] = mapped_column(default=dict)
    fallbacks: Mapped[list[Any]] = mapped_column(default=list)
    trending: Mapped[bool] = mapped_column(Boolean, default=False)
    feature_names: Mapped[list[Any]] = mapped_column(default=list)
    explanations: Mapped[list[Any]] = mapped_column(default=list)


class RankingServedRow(Base):
    __tablename__ = "ranking_served"
    __table_args__ = (Index("ix_ranking_served_user_ts", "user_id", "ts"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str | None] = mapped_column(String(128))
    asset_id: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    sponsored: Mapped[bool] = mapped_column(Boolean, default=False)
    score: Mapped[float | None] = mapped_column(Float)
    ts: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    features: Mapped[list[Any]] = mapped_column(default=list)  # exact vector, None = NaN
