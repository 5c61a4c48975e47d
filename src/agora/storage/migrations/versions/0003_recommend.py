"""recommend: precomputed lists, bandit arms, servings for reward attribution

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = ("recommend",)
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reco_lists",
        sa.Column("kind", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(256), primary_key=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("computed_at", _TS, nullable=False),
    )
    op.create_table(
        "reco_bandit_arms",
        sa.Column("segment", sa.String(64), primary_key=True),
        sa.Column("arm", sa.String(32), primary_key=True),
        sa.Column("alpha", sa.Float(), nullable=False),
        sa.Column("beta", sa.Float(), nullable=False),
        sa.Column("pulls", sa.Integer(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "reco_servings",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("segment", sa.String(64), nullable=False),
        sa.Column("arm", sa.String(32), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("served_at", _TS, nullable=False),
        sa.Column("settled", sa.Boolean(), nullable=False),
        sa.Column("reward", sa.Float(), nullable=True),
    )
    op.create_index("ix_reco_servings_user_id", "reco_servings", ["user_id"])
    op.create_index("ix_reco_servings_pending", "reco_servings", ["settled", "served_at"])


def downgrade() -> None:
    op.drop_table("reco_servings")
    op.drop_table("reco_bandit_arms")
    op.drop_table("reco_lists")
