"""Schema upgrades: serialised by the migration lock, skipped at head (SQLite and PostgreSQL).

Separate processes racing on a fresh data dir are covered end to end by
``tests/e2e/test_concurrent_start.py``; here threads with their own engines
race, and a held lock proves that an up-to-date database needs none.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import inspect

from agora.storage import migrate
from agora.storage.database import Database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database that has never been migrated."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.db'}"
    else:
        yield request.getfixturevalue("pg_url")


def test_concurrent_upgrades_of_a_fresh_database_all_succeed(fresh_url: str) -> None:
    databases = [Database.open(fresh_url) for _ in range(4)]
    start = threading.Barrier(len(databases))

    def upgrade(db: Database) -> set[str]:
        start.wait()
        migrate.upgrade(db)
        return migrate.current_revisions(db)

    try:
        with ThreadPoolExecutor(len(databases)) as pool:
            revisions = list(pool.map(upgrade, databases))
        heads = migrate.head_revisions(migrate.alembic_config(fresh_url))
        assert revisions == [heads] * len(databases)
        assert "api_keys" in inspect(databases[0].engine).get_table_names()
    finally:
        for db in databases:
            db.dispose()


def test_an_up_to_date_database_does_not_wait_for_the_lock(fresh_url: str) -> None:
    db = Database.open(fresh_url)
    other = Database.open(fresh_url)
    try:
        migrate.upgrade(db)
        held, release, done = threading.Event(), threading.Event(), threading.Event()

        def hold_lock() -> None:
            with migrate.migration_lock(other):
                held.set()
                release.wait(60)

        holder = threading.Thread(target=hold_lock)
        holder.start()
        try:
            assert held.wait(60)
            runner = threading.Thread(target=lambda: (migrate.upgrade(db), done.set()))
            runner.start()
            # The lock is still held: upgrade can only finish by skipping it.
            assert done.wait(60), "upgrade waited for the lock on an up-to-date database"
            runner.join()
        finally:
            release.set()
            holder.join()
    finally:
        db.dispose()
        other.dispose()


def test_an_outdated_database_waits_for_the_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    db, other = Database.open(url), Database.open(url)
    held, release, done = threading.Event(), threading.Event(), threading.Event()

    def hold_lock() -> None:
        with migrate.migration_lock(other):
            held.set()
            release.wait(60)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert held.wait(60)
        runner = threading.Thread(target=lambda: (migrate.upgrade(db), done.set()))
        runner.start()
        assert not done.wait(1.0)  # bounded check that it is blocked, not a sleep-for-readiness
        release.set()
        assert done.wait(120)
        runner.join()
        assert migrate.current_revisions(db) == migrate.head_revisions(migrate.alembic_config(url))
    finally:
        release.set()
        holder.join()
        db.dispose()
        other.dispose()
