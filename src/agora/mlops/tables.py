"""MLOps state in the catalog database: deployments, promotion history, canary
observations, training runs and scheduled jobs.

MLflow stays the registry of record for model versions and aliases; these
tables hold what MLflow does not: who moved an alias, when, why and with which
metrics (append-only), the per-version serving figures of a canary, and the
scheduler's persisted jobs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agora.storage.tables import Base, BigId, Stamp, utcnow


class ModelDeploymentRow(Base):
    """The serving state of one model: which version is champion and which canaries."""

    __tablename__ = "model_deployments"
    model_name: Mapped[str] = mapped_column(String(128), primary_key=True)
    champion_version: Mapped[str | None] = mapped_column(String(32))
    challenger_version: Mapped[str | None] = mapped_column(String(32))
    canary_share: Mapped[float | None] = mapped_column(Float)
    canary_started_at: Mapped[datetime | None] = mapped_column(Stamp)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow, onupdate=utcnow)
    # Optimistic concurrency: every UPDATE checks and bumps the revision (SQLite has
    # no row locks), so two concurrent moves cannot both win.
    __mapper_args__ = {"version_id_col": revision}


class ModelPromotionRow(Base):
    """One step of a model's promotion history. Rows are only ever inserted."""

    __tablename__ = "model_promotions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(128), index=True)
    action: Mapped[str] = mapped_column(String(32))
    version: Mapped[str | None] = mapped_column(String(32))
    previous_version: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text, default="")
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class CanaryObservationRow(Base):
    """Serving figures of one model version over one flush interval of one process.

    Inserted only (no read-modify-write), so any number of API processes can
    report; a canary decision sums the rows since the canary started.
    """

    __tablename__ = "canary_observations"
    __table_args__ = (Index("ix_canary_observations_model_version", "model_name", "version"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(128))
    version: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(Stamp, default=utcnow, index=True)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    impressions: Mapped[int] = mapped_column(Integer, default=0)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    # Counts per bucket of agora.ops.metrics.LATENCY_BUCKETS (+ one overflow bucket).
    latency_counts: Mapped[list[Any]] = mapped_column(default=list)


class TrainingRunRow(Base):
    """One training pipeline run: its data snapshot and its outcome."""

    __tablename__ = "training_runs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_name: Mapped[str] = mapped_column(String(128), index=True)
    family: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="running")
    reason: Mapped[str] = mapped_column(Text, default="")
    # Highest interactions.id the run saw: "new interactions since the last training".
    interactions_max_id: Mapped[int] = mapped_column(BigInteger, default=0)
    data_snapshot: Mapped[str | None] = mapped_column(Text)
    version: Mapped[str | None] = mapped_column(String(32))
    decision: Mapped[str | None] = mapped_column(String(32))
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(Stamp)


class ScheduledJobRow(Base):
    """A persisted periodic job: a named task on a cron expression or an interval."""

    __tablename__ = "scheduled_jobs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    task: Mapped[str] = mapped_column(String(128))
    schedule: Mapped[str] = mapped_column(String(128))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=5)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # Deleted jobs are kept as tombstones so default jobs are not re-created on restart.
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    next_run_at: Mapped[datetime] = mapped_column(Stamp, index=True)
    last_run_at: Mapped[datetime | None] = mapped_column(Stamp)
    last_job_id: Mapped[str | None] = mapped_column(String(64))
    last_status: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow, onupdate=utcnow)


class AlertRow(Base):
    """One alert raised by a check: a condition (kind + subject) from when it was
    first seen until it cleared.

    While the condition persists the same row is updated (``last_seen``,
    ``occurrences``, the latest value): ``open_key`` holds ``kind:subject`` only
    while the alert is open, and its unique index lets a single open alert exist per
    condition even when several scheduler processes check at once (NULLs never
    collide, so resolved rows keep their history).
    """

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_kind_subject", "kind", "subject"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text, default="")
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    open_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    first_seen: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(Stamp, default=utcnow, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(Stamp)
    acked_at: Mapped[datetime | None] = mapped_column(Stamp)
    acked_by: Mapped[str | None] = mapped_column(String(128))
    ack_note: Mapped[str | None] = mapped_column(Text)


class DriftMeasurementRow(Base):
    """PSI and KS of one input feature (or the score) of one model version at one
    drift check. Inserted only; a check's rows share ``measured_at``."""

    __tablename__ = "drift_measurements"
    __table_args__ = (Index("ix_drift_measurements_model_at", "model_name", "measured_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(128))
    version: Mapped[str] = mapped_column(String(32))
    feature: Mapped[str] = mapped_column(String(128))
    # NULL where a side had no values (the report's NaN).
    psi: Mapped[float | None] = mapped_column(Float)
    ks_statistic: Mapped[float | None] = mapped_column(Float)
    ks_pvalue: Mapped[float | None] = mapped_column(Float)
    drifted: Mapped[bool] = mapped_column(Boolean, default=False)
    n_reference: Mapped[int] = mapped_column(Integer, default=0)
    n_current: Mapped[int] = mapped_column(Integer, default=0)
    psi_threshold: Mapped[float] = mapped_column(Float)
    measured_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
