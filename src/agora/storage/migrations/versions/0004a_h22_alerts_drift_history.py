"""mlops: stored alerts and the per-feature drift history

``alerts`` holds what the scheduled checks raised (drift, canary rollbacks,
fallback and error rates, queue backlogs, failed jobs): one row per condition
from first seen to resolved, with who acknowledged it. ``drift_measurements``
holds every drift check's PSI and KS per feature, for the charts over time.

Revision ID: 0004a_h22
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004a_h22"
down_revision = "0004"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("open_key", sa.String(300), nullable=True, unique=True),
        sa.Column("first_seen", _TS, nullable=False),
        sa.Column("last_seen", _TS, nullable=False),
        sa.Column("resolved_at", _TS, nullable=True),
        sa.Column("acked_at", _TS, nullable=True),
        sa.Column("acked_by", sa.String(128), nullable=True),
        sa.Column("ack_note", sa.Text(), nullable=True),
    )
    op.create_index("ix_alerts_kind_subject", "alerts", ["kind", "subject"])
    op.create_index("ix_alerts_last_seen", "alerts", ["last_seen"])
    op.create_table(
        "drift_measurements",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("feature", sa.String(128), nullable=False),
        sa.Column("psi", sa.Float(), nullable=True),
        sa.Column("ks_statistic", sa.Float(), nullable=True),
        sa.Column("ks_pvalue", sa.Float(), nullable=True),
        sa.Column("drifted", sa.Boolean(), nullable=False),
        sa.Column("n_reference", sa.Integer(), nullable=False),
        sa.Column("n_current", sa.Integer(), nullable=False),
        sa.Column("psi_threshold", sa.Float(), nullable=False),
        sa.Column("measured_at", _TS, nullable=False),
    )
    op.create_index(
        "ix_drift_measurements_model_at", "drift_measurements", ["model_name", "measured_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_drift_measurements_model_at", table_name="drift_measurements")
    op.drop_table("drift_measurements")
    op.drop_index("ix_alerts_last_seen", table_name="alerts")
    op.drop_index("ix_alerts_kind_subject", table_name="alerts")
    op.drop_table("alerts")
