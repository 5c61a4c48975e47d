"""features: global overrides (boost / ban of categories, sellers, assets)

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = ("features",)
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "feature_overrides",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
        sa.Column("multiplier", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("deleted_at", _TS, nullable=True),
        sa.Column("settled", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_feature_overrides_target", "feature_overrides", ["target"])
    op.create_index("ix_feature_overrides_expires_at", "feature_overrides", ["expires_at"])
    op.create_index("ix_feature_overrides_deleted_at", "feature_overrides", ["deleted_at"])


def downgrade() -> None:
    op.drop_table("feature_overrides")
