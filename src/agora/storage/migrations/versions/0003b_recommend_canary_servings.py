"""recommend: lists served by versions under canary

``reco_canary_servings`` logs each personal list served by a recommender
version while it (or its champion) is in canary, so that the lists' engaged
assets can be credited to that version once the attribution window has
passed (``agora.recommend.canary_log``): the canary judge then compares the
versions' online CTR.

Revision ID: 0003b
Revises: 0003a
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003b"
down_revision = "0003a"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reco_canary_servings",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("model", sa.String(160), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("served_at", _TS, nullable=False),
        sa.Column("settled", sa.Boolean(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=True),
    )
    op.create_index(
        "ix_reco_canary_servings_pending", "reco_canary_servings", ["settled", "served_at"]
    )


def downgrade() -> None:
    op.drop_table("reco_canary_servings")
