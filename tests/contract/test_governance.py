"""One consent + audit contract, run on the embedded SQLite catalog and on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from agora.domain import ConsentFlags
from agora.errors import InvalidInput
from agora.governance import AuditLog, ConsentRegistry
from agora.storage.database import Database
from agora.storage.tables import UserRow


@pytest.fixture
def audit(db: Database) -> AuditLog:
    return AuditLog(db)


@pytest.fixture
def consent(db: Database, audit: AuditLog) -> ConsentRegistry:
    return ConsentRegistry(db, audit)


def test_defaults_are_private_by_default(consent: ConsentRegistry) -> None:
    flags = consent.get("never-seen")
    assert flags == ConsentFlags(True, False, False, True, 0)
    record = consent.record("never-seen")
    assert record.updated_at is None and record.updated_by is None
    assert consent.history("never-seen") == []


def test_put_versions_history_and_audit(
    consent: ConsentRegistry, audit: AuditLog, db: Database
) -> None:
    first = consent.put("u-1", {"allows_model_training": True}, actor="key:w1")
    assert first == ConsentFlags(True, False, True, True, 1)
    with db.session() as s:  # the user row was created for the foreign key
        assert s.get(UserRow, "u-1") is not None
    second = consent.put(
        "u-1", {"allows_personalization": False, "allows_cloud_processing": True}, actor="key:w2"
    )
    assert second == ConsentFlags(True, True, True, False, 2)
    assert consent.get("u-1") == second
    record = consent.record("u-1")
    assert record.updated_by == "key:w2" and record.updated_at is not None
    assert record.to_dict()["version"] == 2
    history = consent.history("u-1")
    assert [h.version for h in history] == [1, 2]
    assert history[0].flags == first and history[0].changed_by == "key:w1"
    entries = audit.query(subject_type="user", subject_id="u-1").entries
    assert [(e.action, e.consent_version, e.actor) for e in entries] == [
        ("consent.updated", 2, "key:w2"),
        ("consent.updated", 1, "key:w1"),
    ]
    assert entries[0].details["changed"] == {
        "allows_personalization": False,
        "allows_cloud_processing": True,
    }
    assert entries[0].details["previous"]["allows_personalization"] is True
    assert audit.verify().ok


def test_put_for_an_existing_user_keeps_the_row(consent: ConsentRegistry, db: Database) -> None:
    with db.session() as s:
        s.add(UserRow(id="u-2", region="eu"))
    consent.put("u-2", {"allows_ai_processing": False}, actor="key:w")
    with db.session() as s:
        assert s.get(UserRow, "u-2").region == "eu"


def test_request_block_narrows_but_never_widens(consent: ConsentRegistry) -> None:
    consent.put("u-3", {"allows_cloud_processing": True}, actor="key:w")
    assert consent.effective("u-3").allows_cloud_processing is True
    narrowed = consent.effective("u-3", {"allows_cloud_processing": False})
    assert narrowed.allows_cloud_processing is False and narrowed.version == 1
    widened = consent.effective("u-3", {"allows_model_training": True})
    assert widened.allows_model_training is False
    assert consent.effective("u-3", {}).allows_personalization is True


def test_enterprise_policy_forbids_cloud(db: Database, audit: AuditLog) -> None:
    strict = ConsentRegistry(db, audit, forbid_cloud=True)
    strict.put("u-4", {"allows_cloud_processing": True}, actor="key:w")
    assert strict.get("u-4").allows_cloud_processing is True  # the user's own choice is kept
    assert strict.effective("u-4").allows_cloud_processing is False
    relaxed = ConsentRegistry(db, audit)
    assert relaxed.effective("u-4").allows_cloud_processing is True
    assert relaxed.effective("u-4", forbid_cloud=True).allows_cloud_processing is False


def test_bad_consent_is_refused(consent: ConsentRegistry) -> None:
    with pytest.raises(InvalidInput, match="unknown"):
        consent.put("u-5", {"allows_everything": True}, actor="key:w")
    with pytest.raises(InvalidInput, match="true or false"):
        consent.put("u-5", {"allows_ai_processing": "false"}, actor="key:w")
    with pytest.raises(InvalidInput, match="at least one"):
        consent.put("u-5", {}, actor="key:w")
    with pytest.raises(InvalidInput):
        consent.effective("u-5", {"allows_personalization": "no"})
    assert consent.get("u-5").version == 0


def test_concurrent_puts_and_appends_keep_versions_and_chain(
    consent: ConsentRegistry, audit: AuditLog
) -> None:
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            for i in range(5):
                consent.put("u-c", {"allows_personalization": (w + i) % 2 == 0}, actor=f"w{w}")
                audit.record(f"w{w}", "rank.served", "user", "u-c", model="ranker@1")
        except BaseException as exc:  # noqa: BLE001 - the main thread asserts on it
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [h.version for h in consent.history("u-c")] == list(range(1, 21))
    report = audit.verify()
    assert report.ok and report.entries_checked == 40


def test_tampering_is_detected(consent: ConsentRegistry, audit: AuditLog, db: Database) -> None:
    for i in range(4):
        consent.put("u-t", {"allows_model_training": i % 2 == 0}, actor="key:w")
    assert audit.verify().ok
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET consent_version = 9 WHERE seq = 2"))
    report = audit.verify()
    assert not report.ok and report.first_bad_seq == 2
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET consent_version = 2 WHERE seq = 2"))
        conn.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    report = audit.verify()
    assert not report.ok and report.first_bad_seq == 3 and report.entries_checked == 2
