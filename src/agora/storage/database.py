"""Engine and session factory for the catalog database (SQLite or PostgreSQL).

SQLite runs in WAL mode with a busy timeout so several API worker processes
and in-process workers share one file safely.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from agora.errors import InvalidInput


def rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE matched (typed access to ``CursorResult.rowcount``)."""
    return int(cast("CursorResult[Any]", result).rowcount)


def normalise_url(url: str) -> str:
    """Map user-facing URLs to SQLAlchemy drivers (``postgresql://`` -> psycopg 3)."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith(("sqlite://", "postgresql+")):
        return url
    raise InvalidInput(f"unsupported catalog URL {url!r}: use sqlite:/// or postgresql://")


@contextmanager
def raw_cursor(engine: Engine) -> Iterator[Any]:
    """A DBAPI cursor in one transaction on a pooled connection (committed on success).

    For the index backends that speak the driver's own types (pgvector arrays,
    tsvector queries) without ORM overhead on the hot path.
    """
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        try:
            yield cur
        finally:
            cur.close()
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str, *, pool_size: int = 5, echo: bool = False) -> Engine:
    """Create an engine for a catalog URL, with SQLite pragmas applied per connection."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True
    )


class Database:
    """Owns the engine and hands out sessions.

    Example:
        >>> db = Database.open("sqlite:///:memory:")
        >>> with db.session() as s:
        ...     _ = s.execute(text("select 1"))
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._factory = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str, *, pool_size: int = 5, echo: bool = False) -> Database:
        """Open a database by URL (no migration run)."""
        return cls(make_engine(url, pool_size=pool_size, echo=echo))

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded backend."""
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error."""
        s = self._factory()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def ping(self) -> None:
        """Raise if the database cannot answer."""
        with self.engine.connect() as conn:
            conn.execute(text("select 1"))

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
