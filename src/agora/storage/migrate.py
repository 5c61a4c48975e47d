"""Run Alembic migrations programmatically (``agora`` upgrades on start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from agora.storage.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(db: Database, revision: str = "heads") -> None:
    """Bring the catalog schema to ``revision``.

    SQLite serialises the migration through its own write lock, and PostgreSQL
    through Alembic's transactional DDL, so concurrent workers starting at once
    are safe.
    """
    cfg = alembic_config(str(db.engine.url.render_as_string(hide_password=False)))
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
