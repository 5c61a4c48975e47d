"""tagging: the taxonomy as versioned state, per-category resets, the training lease

- ``tag_taxonomy_versions``: every version of the taxonomy document (the
  shipped YAML or the operator's file seeds version 1); the newest serves.
- ``tag_resets``: a reset of a category's (or every category's) feedback and
  trained heads: head versions up to ``heads_upto`` no longer serve it.
- ``tag_training_leases``: one training run of the tag heads at a time across
  processes (API workers and the scheduler's worker).
- ``tag_feedback`` becomes AUTOINCREMENT on SQLite: a reset deletes rows, and
  reused ids would hide new feedback below the retraining high-water mark.

Revision ID: 0008b
Revises: 0008a
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008b"
down_revision = "0008a"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tag_taxonomy_versions",
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("change", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "tag_resets",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("category", sa.String(64), nullable=False, index=True),
        sa.Column("heads_upto", sa.Integer(), nullable=False),
        sa.Column("feedback_deleted", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "tag_training_leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(128), nullable=True),
        sa.Column("expires_at", _TS, nullable=True),
    )
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "tag_feedback", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass


def downgrade() -> None:
    op.drop_table("tag_training_leases")
    op.drop_table("tag_resets")
    op.drop_table("tag_taxonomy_versions")
