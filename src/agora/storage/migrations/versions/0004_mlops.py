"""mlops: deployments, promotion history, canary observations, training runs, scheduled jobs

Revision ID: 0004
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = ("mlops",)
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "model_deployments",
        sa.Column("model_name", sa.String(128), primary_key=True),
        sa.Column("champion_version", sa.String(32), nullable=True),
        sa.Column("challenger_version", sa.String(32), nullable=True),
        sa.Column("canary_share", sa.Float(), nullable=True),
        sa.Column("canary_started_at", _TS, nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "model_promotions",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("version", sa.String(32), nullable=True),
        sa.Column("previous_version", sa.String(32), nullable=True),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("at", _TS, nullable=False),
    )
    op.create_index("ix_model_promotions_model_name", "model_promotions", ["model_name"])
    op.create_table(
        "canary_observations",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("impressions", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("latency_counts", sa.JSON(), nullable=False),
    )
    op.create_index("ix_canary_observations_at", "canary_observations", ["at"])
    op.create_index(
        "ix_canary_observations_model_version", "canary_observations", ["model_name", "version"]
    )
    op.create_table(
        "training_runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("family", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("interactions_max_id", sa.BigInteger(), nullable=False),
        sa.Column("data_snapshot", sa.Text(), nullable=True),
        sa.Column("version", sa.String(32), nullable=True),
        sa.Column("decision", sa.String(32), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
    )
    op.create_index("ix_training_runs_model_name", "training_runs", ["model_name"])
    op.create_table(
        "scheduled_jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("task", sa.String(128), nullable=False),
        sa.Column("schedule", sa.String(128), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", _TS, nullable=False),
        sa.Column("last_run_at", _TS, nullable=True),
        sa.Column("last_job_id", sa.String(64), nullable=True),
        sa.Column("last_status", sa.String(32), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_index("ix_scheduled_jobs_next_run_at", "scheduled_jobs", ["next_run_at"])


def downgrade() -> None:
    op.drop_table("scheduled_jobs")
    op.drop_table("training_runs")
    op.drop_table("canary_observations")
    op.drop_table("model_promotions")
    op.drop_table("model_deployments")
