"""Tables of the recommendation capability (migration ``0003_recommend``).

- ``reco_lists``: precomputed lists (per-user lists per algorithm, trending
  lists per region/category), refreshed by the scheduler.
- ``reco_bandit_arms``: Beta posterior of each (segment, algorithm) arm.
- ``reco_servings``: what was served to whom and when, for reward attribution.
- ``reco_canary_servings``: lists served by a version under canary, for its
  online CTR (``agora.recommend.canary_log``; migration ``0003b``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from agora.storage.tables import Base, Stamp, utcnow


class RecoListRow(Base):
    __tablename__ = "reco_lists"
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)  # "user:als", "trending"
    key: Mapped[str] = mapped_column(String(256), primary_key=True)  # user id, "region|category"
    items: Mapped[list[Any]] = mapped_column(default=list)  # [[asset_id, score, source], ...]
    model: Mapped[str] = mapped_column(String(128))
    computed_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class BanditArmRow(Base):
    __tablename__ = "reco_bandit_arms"
    segment: Mapped[str] = mapped_column(String(64), primary_key=True)
    arm: Mapped[str] = mapped_column(String(32), primary_key=True)
    alpha: Mapped[float] = mapped_column(Float, default=1.0)
    beta: Mapped[float] = mapped_column(Float, default=1.0)
    pulls: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow, onupdate=utcnow)


class ServingRow(Base):
    __tablename__ = "reco_servings"
    __table_args__ = (Index("ix_reco_servings_pending", "settled", "served_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    segment: Mapped[str] = mapped_column(String(64))
    arm: Mapped[str] = mapped_column(String(32))
    items: Mapped[list[Any]] = mapped_column(default=list)
    served_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    settled: Mapped[bool] = mapped_column(Boolean, default=False)
    reward: Mapped[float | None] = mapped_column(Float)


class CanaryServingRow(Base):
    __tablename__ = "reco_canary_servings"
    __table_args__ = (Index("ix_reco_canary_servings_pending", "settled", "served_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128))
    model: Mapped[str] = mapped_column(String(160))  # name@version that served the list
    items: Mapped[list[Any]] = mapped_column(default=list)
    served_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    settled: Mapped[bool] = mapped_column(Boolean, default=False)
    clicks: Mapped[int | None] = mapped_column(Integer)  # engaged assets, once settled
