"""imports: the items of resumable bulk imports

``import_items`` holds one row per item (line, Parquet row, image) of an
import sent with a client-supplied import id: whether it was accepted (and as
which asset and pipeline job) or rejected (status and reason). Re-sending the
import skips accepted items; ``published`` is false while a deferred import
holds its pipeline events back.

Revision ID: 0008c
Revises: 0008b
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008c"
down_revision = "0008b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_items",
        sa.Column("import_id", sa.String(64), primary_key=True),
        sa.Column("line", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("accepted", sa.Boolean(), nullable=False, index=True),
        sa.Column("asset_id", sa.String(128), nullable=True),
        sa.Column("job_id", sa.String(64), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("import_items")
