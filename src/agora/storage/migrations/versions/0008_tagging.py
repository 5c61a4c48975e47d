"""tagging: results, head inputs, feedback

Revision ID: 0008
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0001"
branch_labels = ("tagging",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tag_results",
        sa.Column("asset_id", sa.String(64), primary_key=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("quality_score", sa.Float(), nullable=False),
        sa.Column("total_processing_time", sa.Float(), nullable=False),
        sa.Column("models_used", sa.JSON(), nullable=False),
        sa.Column("consent_version", sa.Integer(), nullable=False),
        sa.Column("cloud", sa.JSON(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("processed_at", _TS, nullable=False),
    )
    op.create_table(
        "tag_embeddings",
        sa.Column("asset_id", sa.String(64), primary_key=True),
        sa.Column("encoder", sa.String(255), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "tag_feedback",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("asset_id", sa.String(64), nullable=False, index=True),
        sa.Column("owner_id", sa.String(128), nullable=False, index=True),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("label", sa.String(128), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("created_at", _TS, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("tag_feedback")
    op.drop_table("tag_embeddings")
    op.drop_table("tag_results")
