"""tagging: confirmed tags written back to the asset

``tag_writebacks`` records each confirmed tag Agora added to an asset's own
tags, so a later rejection removes exactly those and never a creator's tag.

Revision ID: 0008a
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008a"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tag_writebacks",
        sa.Column("asset_id", sa.String(64), primary_key=True),
        sa.Column("category", sa.String(64), primary_key=True),
        sa.Column("label", sa.String(128), primary_key=True),
        sa.Column("tag", sa.String(128), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tag_writebacks")
