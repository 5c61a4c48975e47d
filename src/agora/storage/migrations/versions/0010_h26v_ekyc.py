"""identity: eKYC matches (keyed hashes, encrypted embeddings) and encrypted originals

Revision ID: 0010_h26v_ekyc
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_h26v_ekyc"
down_revision = "0001"
branch_labels = ("identity",)
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ekyc_matches",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("subject_ref", sa.String(128), nullable=True, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("hash_a", sa.String(64), nullable=False, index=True),
        sa.Column("hash_b", sa.String(64), nullable=False, index=True),
        sa.Column("embedding_a", sa.LargeBinary(), nullable=False),
        sa.Column("embedding_b", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("distance", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("liveness_prob", sa.Float(), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "ekyc_originals",
        sa.Column("blob_sha256", sa.String(64), primary_key=True),
        sa.Column("match_id", sa.String(32), nullable=False, index=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("ekyc_originals")
    op.drop_table("ekyc_matches")
