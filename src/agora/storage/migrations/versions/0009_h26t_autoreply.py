"""autoreply: operator-approved reply templates and sellers' past replies

Revision ID: 0009_h26t
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_h26t"
down_revision = "0001"
branch_labels = ("autoreply",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "auto_reply_templates",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("language", sa.String(16), nullable=False, index=True),
        sa.Column("intent", sa.String(16), nullable=False, index=True),
        sa.Column("emotions", sa.JSON(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "auto_reply_history",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("seller_id", sa.String(128), nullable=False, index=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("intent", sa.String(16), nullable=True),
        sa.Column("emotion", sa.String(16), nullable=True),
        sa.Column("buyer_message", sa.Text(), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("suggestion_source", sa.String(64), nullable=True),
        sa.Column("created_at", _TS, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("auto_reply_history")
    op.drop_table("auto_reply_templates")
