"""derivatives: versioned outputs of media optimisations (issue 25)

``derivatives`` holds one row per version of an asset's derived files (LODs,
upscaled textures, conversions, thumbnails): the source blob, the operation,
its options, the model@version and the files (blob references) it produced.

Revision ID: 0009_h25
Revises: 0008c
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_h25"
down_revision = "0008c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "derivatives",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("asset_id", sa.String(128), nullable=False, index=True),
        sa.Column("asset_revision", sa.Integer(), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False, index=True),
        sa.Column("operation", sa.String(32), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("asset_id", "operation", "version", name="uq_derivative_version"),
    )


def downgrade() -> None:
    op.drop_table("derivatives")
