"""recommend: indexes of the serving path

Interactions indexed by (user_id, ts) and (user_id, type); assets, sellers and
consents by updated_at.

The serving path reads a user's most recent interactions and all their
purchases (``agora.recommend.data.user_history``: ``WHERE user_id = ? ORDER BY
ts DESC LIMIT 200`` and ``WHERE user_id = ? AND type = 'purchase'``). With the
user_id index alone, SQLite sorted all of a heavy user's rows in a temporary
B-tree, and read every one of them for their type, on every request (4.4 ms
for MovieLens' heaviest user, 737 events; 2.3 ms with these indexes). The
catalog gate (``agora.recommend.gate``) reads the assets, sellers and consents
changed since its last read, twice a second: without an index on
``updated_at``, each read scanned the whole table.

Revision ID: 0003a
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0003a"
down_revision = "0003"
branch_labels = None
depends_on = None

_CHANGED_AT = ("assets", "sellers", "consents")


def upgrade() -> None:
    op.create_index("ix_interactions_user_ts", "interactions", ["user_id", "ts"])
    op.create_index("ix_interactions_user_type", "interactions", ["user_id", "type"])
    for table in _CHANGED_AT:
        op.create_index(f"ix_{table}_updated_at", table, ["updated_at"])


def downgrade() -> None:
    for table in _CHANGED_AT:
        op.drop_index(f"ix_{table}_updated_at", table_name=table)
    op.drop_index("ix_interactions_user_type", table_name="interactions")
    op.drop_index("ix_interactions_user_ts", table_name="interactions")
