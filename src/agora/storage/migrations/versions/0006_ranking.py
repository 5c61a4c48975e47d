"""ranking: feature log of served lists (requests and served slots)

Revision ID: 0006
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = ("ranking",)
depends_on = None

_TS = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ranking_requests",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(128), nullable=True),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("ts", _TS, nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("timings_ms", sa.JSON(), nullable=False),
        sa.Column("fallbacks", sa.JSON(), nullable=False),
        sa.Column("trending", sa.Boolean(), nullable=False),
        sa.Column("feature_names", sa.JSON(), nullable=False),
        sa.Column("explanations", sa.JSON(), nullable=False),
    )
    op.create_index("ix_ranking_requests_user_id", "ranking_requests", ["user_id"])
    op.create_index("ix_ranking_requests_ts", "ranking_requests", ["ts"])
    op.create_table(
        "ranking_served",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=True),
        sa.Column("asset_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sponsored", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("ts", _TS, nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
    )
    op.create_index("ix_ranking_served_request_id", "ranking_served", ["request_id"])
    op.create_index("ix_ranking_served_user_ts", "ranking_served", ["user_id", "ts"])


def downgrade() -> None:
    op.drop_table("ranking_served")
    op.drop_table("ranking_requests")
