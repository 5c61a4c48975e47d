"""features: remember the catalog status a ban replaced, to restore it when lifted

Revision ID: 0002a
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002a"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feature_overrides") as batch:
        batch.add_column(sa.Column("prior_status", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feature_overrides") as batch:
        batch.drop_column("prior_status")
