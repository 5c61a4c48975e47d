"""Run Alembic migrations programmatically (``agora`` upgrades on start), once at a time.

Every ``agora`` process (API, worker, a CLI command) upgrades the schema when
it opens the platform, and several often start together (``agora serve`` and
``agora keys create`` on a fresh data dir). Alembic itself does not serialise
them: SQLite's driver runs DDL outside a transaction, so two processes both
see an empty database and the second fails with "table ... already exists".
``upgrade`` therefore:

1. returns at once when the database is already at the head revision (the
   usual case: no lock, one small query);
2. otherwise takes a migration lock - a file lock beside the SQLite file, or a
   PostgreSQL session advisory lock - checks again (another process may have
   migrated while this one waited), and only then runs the migrations.

Example:
    >>> db = Database.open("sqlite:////tmp/agora-doc/catalog.db")  # doctest: +SKIP
    >>> upgrade(db)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock
from sqlalchemy import text

from agora.storage.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"
#: PostgreSQL advisory lock key of the catalog migrations (any fixed 64-bit number).
PG_LOCK_KEY = 0x61676F7261_6D6967  # "agora" "mig"
#: How long a process waits for another one's migration before giving up.
LOCK_TIMEOUT_S = 600.0


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # Alembic's config is a ConfigParser: a literal "%" (a URL-quoted password,
    # ``sqlite:///%3Amemory%3A``) must be doubled or interpolation rejects it.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revisions(cfg: Config) -> set[str]:
    """The head revision(s) of the packaged migrations."""
    return set(ScriptDirectory.from_config(cfg).get_heads())


def current_revisions(db: Database) -> set[str]:
    """The revision(s) the database is at (empty for a fresh database)."""
    with db.engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


@contextmanager
def migration_lock(db: Database) -> Iterator[None]:
    """Hold the lock that serialises schema upgrades of ``db`` across processes."""
    if db.is_sqlite:
        path = db.engine.url.database
        if not path or path == ":memory:":
            yield  # private to this connection pool: nobody to race with
            return
        with FileLock(str(Path(path).absolute()) + ".migrate.lock", timeout=LOCK_TIMEOUT_S):
            yield
        return
    with db.engine.connect() as connection:
        # A session lock on its own connection: held across the upgrade's transactions.
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": PG_LOCK_KEY})
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PG_LOCK_KEY})
            connection.commit()


def upgrade(db: Database, revision: str = "heads") -> None:
    """Bring the catalog schema to ``revision`` (safe when many processes start at once)."""
    cfg = alembic_config(str(db.engine.url.render_as_string(hide_password=False)))
    heads = head_revisions(cfg) if revision in ("head", "heads") else None
    if heads is not None and current_revisions(db) == heads:
        return
    with migration_lock(db):
        if heads is not None and current_revisions(db) == heads:
            return  # migrated by another process while this one waited
        with db.engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
