"""Audit chain on the embedded SQLite backend: hashing, tamper detection, concurrency."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from agora.errors import InvalidInput
from agora.governance import GENESIS_HASH, AuditDraft, AuditLog
from agora.governance.audit import entry_hash
from agora.storage import migrate
from agora.storage.database import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(f"sqlite:///{tmp_path / 'catalog.db'}")
    migrate.upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def log(db: Database) -> AuditLog:
    return AuditLog(db)


def _fill(log: AuditLog, n: int) -> None:
    log.record_many(
        [
            AuditDraft(
                "key:t",
                "rank.served",
                "user",
                f"u-{i}",
                model="ranker@2",
                consent_version=1,
                details={"i": i, "items": ["a", "b"]},
            )
            for i in range(1, n + 1)
        ]
    )


def test_chain_links_entries_from_genesis(log: AuditLog) -> None:
    first = log.record("key:t", "asset.banned", "asset", "a-1", details={"reason": "spam"})
    second = log.record("key:t", "asset.restored", "asset", "a-1")
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    report = log.verify()
    assert report.ok and report.entries_checked == 2
    assert (report.head_seq, report.head_hash) == (2, second.hash)


def test_empty_log_verifies(log: AuditLog) -> None:
    report = log.verify()
    assert report.ok and report.entries_checked == 0 and report.head_hash is None


def test_edited_details_are_detected(log: AuditLog, db: Database) -> None:
    _fill(log, 6)
    with db.engine.begin() as conn:
        conn.execute(
            text("""UPDATE audit_log SET details = '{"i": 999, "items": ["a", "b"]}'
                             WHERE seq = 4""")
        )
    report = log.verify()
    assert not report.ok
    assert report.first_bad_seq == 4
    assert "edited" in (report.reason or "")
    assert report.entries_checked == 3


def test_edit_with_recomputed_hash_breaks_the_next_link(log: AuditLog, db: Database) -> None:
    _fill(log, 5)
    # An attacker edits entry 2 and also recomputes its own hash ...
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'key:evil' WHERE seq = 2"))
        row = conn.execute(text("SELECT * FROM audit_log WHERE seq = 2")).mappings().one()
        fields = dict(row) | {
            "details": json.loads(row["details"]),
            "ts": datetime.fromisoformat(row["ts"]),
        }
        conn.execute(
            text("UPDATE audit_log SET hash = :h WHERE seq = 2"),
            {"h": entry_hash(fields, row["prev_hash"])},
        )
    # ... which still breaks the link from entry 3.
    report = log.verify()
    assert not report.ok and report.first_bad_seq == 3
    assert "prev_hash" in (report.reason or "")


def test_deleted_middle_entry_is_detected(log: AuditLog, db: Database) -> None:
    _fill(log, 7)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 5"))
    report = log.verify()
    assert not report.ok
    assert report.first_bad_seq == 5
    assert "deleted" in (report.reason or "")


def test_deleted_first_entry_is_detected(log: AuditLog, db: Database) -> None:
    _fill(log, 3)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 1"))
    report = log.verify()
    assert not report.ok and report.first_bad_seq == 1


def test_reordered_entries_are_detected(log: AuditLog, db: Database) -> None:
    _fill(log, 4)
    with db.engine.begin() as conn:  # swap entries 2 and 3
        conn.execute(text("UPDATE audit_log SET seq = -2 WHERE seq = 2"))
        conn.execute(text("UPDATE audit_log SET seq = 2 WHERE seq = 3"))
        conn.execute(text("UPDATE audit_log SET seq = 3 WHERE seq = -2"))
    report = log.verify()
    assert not report.ok and report.first_bad_seq == 2


def test_concurrent_writers_never_fork_the_chain(log: AuditLog, db: Database) -> None:
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            # Each thread its own AuditLog and connections, like separate processes.
            mine = AuditLog(db)
            for i in range(15):
                mine.record(f"worker-{w}", "rank.served", "user", f"u-{w}-{i}")
        except BaseException as exc:  # noqa: BLE001 - the main thread asserts on it
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = log.verify()
    assert report.ok, report
    assert report.entries_checked == 90


def test_record_inside_a_business_transaction_rolls_back_with_it(
    log: AuditLog, db: Database
) -> None:
    with pytest.raises(RuntimeError), db.session() as s:
        log.record("key:t", "asset.banned", "asset", "a-1", session=s)
        raise RuntimeError("business write failed")
    assert log.query().entries == []
    log.record("key:t", "asset.banned", "asset", "a-1")
    assert log.verify().ok


def test_query_filters_and_paginates(log: AuditLog) -> None:
    _fill(log, 5)
    log.record("key:admin", "key.revoked", "api_key", "k1")
    page = log.query(subject_type="user", limit=2)
    assert [e.seq for e in page.entries] == [5, 4]
    page2 = log.query(subject_type="user", limit=2, cursor=page.next_cursor)
    assert [e.seq for e in page2.entries] == [3, 2]
    page3 = log.query(subject_type="user", limit=2, cursor=page2.next_cursor)
    assert [e.seq for e in page3.entries] == [1] and page3.next_cursor is None
    assert [e.seq for e in log.query(actor="key:admin").entries] == [6]
    assert [e.subject_id for e in log.query(subject_type="user", subject_id="u-3").entries] == [
        "u-3"
    ]
    assert log.query(action="key.revoked").entries[0].model is None
    assert len(log.query(since=datetime.now(UTC) - timedelta(minutes=1)).entries) == 6
    assert log.query(since=datetime.now(UTC) + timedelta(minutes=1)).entries == []
    entry = log.query(subject_id="u-2").entries[0]
    assert entry.details == {"i": 2, "items": ["a", "b"]}
    assert entry.model == "ranker@2" and entry.consent_version == 1
    assert entry.to_dict()["ts"].endswith("Z")


def test_bad_input_is_refused(log: AuditLog) -> None:
    with pytest.raises(InvalidInput):
        log.record("", "x", "user", "u")
    with pytest.raises(InvalidInput):
        log.record("key:t", "x", "user", "u", details={"score": float("nan")})
    with pytest.raises(InvalidInput):
        log.record("key:t", "x", "user", "u", details={"obj": object()})
    with pytest.raises(InvalidInput):
        log.query(limit=0)
    with pytest.raises(InvalidInput):
        log.query(cursor="abc")
    assert log.verify().entries_checked == 0


def test_details_are_stored_as_hashed(log: AuditLog) -> None:
    import numpy as np

    log.record(
        "key:t",
        "score",
        "asset",
        "a",
        details={"s": np.float32(0.5), "t": (1, 2), "tags": {"b", "a"}},
    )
    entry = log.query().entries[0]
    assert entry.details == {"s": 0.5, "t": [1, 2], "tags": ["a", "b"]}
    assert log.verify().ok


def _append_from_process(url: str, worker: int, n: int) -> None:
    db = Database.open(url)
    log = AuditLog(db)
    for i in range(n):
        log.record(f"proc-{worker}", "rank.served", "user", f"u-{worker}-{i}")
    db.dispose()


def test_concurrent_processes_never_fork_the_chain(log: AuditLog, db: Database) -> None:
    import multiprocessing

    url = db.engine.url.render_as_string(hide_password=False)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_from_process, args=(url, w, 20)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    report = log.verify()
    assert report.ok, report
    assert report.entries_checked == 60
