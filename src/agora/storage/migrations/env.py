"""Alembic environment: migrations run programmatically by ``agora.storage.migrate``."""

from __future__ import annotations

from alembic import context

# Each capability's tables module registers its tables on Base.metadata.
import agora.autoreply.tables
import agora.features.tables
import agora.identity.tables
import agora.mlops.tables
import agora.moderation.tables
import agora.ranking.tables
import agora.recommend.tables
import agora.tagging.tables  # noqa: F401  (imports above register their tables too)
from agora.storage.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        from agora.storage.database import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things in place
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
