"""Append-only, hash-chained audit log of every ML decision and admin action.

Each entry's ``hash`` is the sha256 of the canonical JSON of its fields and the
previous entry's hash (the first entry chains to 64 zeros), so editing,
deleting or reordering a stored entry breaks the chain and :meth:`AuditLog.verify`
names the first bad ``seq``. The chain cannot detect an attacker who rewrites
every hash after the edit, nor removal of the newest entries: operators who
need that anchor ``ChainReport.head_hash`` outside the database (a log line, a
ticket, a signed note) and compare later.

Appends are serialised across threads and processes so the chain never forks:
on SQLite the writer takes the database write lock before reading the tail
(a no-op UPDATE as the transaction's first write, i.e. ``BEGIN IMMEDIATE``
semantics); on PostgreSQL it takes a transaction-scoped advisory lock.

Example:
    >>> log = AuditLog(db)  # doctest: +SKIP
    >>> log.record("key:ab12", "asset.banned", "asset", "a-1", details={"reason": "spam"})
    ...  # doctest: +SKIP
    >>> log.verify().ok  # doctest: +SKIP
    True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from agora.domain import ModelRef
from agora.errors import InvalidInput
from agora.storage.database import Database
from agora.storage.tables import AuditEntryRow

GENESIS_HASH = "0" * 64
# Key of the PostgreSQL advisory lock that serialises appends (any fixed
# 64-bit number; derived from the table name so it is recognisable).
_PG_LOCK_KEY = int.from_bytes(hashlib.sha256(b"agora.audit_log").digest()[:8], "big", signed=True)
_VERIFY_BATCH = 1000
MAX_QUERY_LIMIT = 1000


@dataclass(frozen=True)
class AuditEntry:
    """One stored audit entry."""

    seq: int
    ts: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    model: str | None
    consent_version: int | None
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (``ts`` as ISO 8601 UTC)."""
        out = asdict(self)
        out["ts"] = _canonical_ts(self.ts)
        return out


@dataclass(frozen=True)
class AuditPage:
    """A page of entries, newest first; pass ``next_cursor`` to get the next page."""

    entries: list[AuditEntry]
    next_cursor: str | None


@dataclass(frozen=True)
class ChainReport:
    """Result of :meth:`AuditLog.verify`."""

    ok: bool
    entries_checked: int
    first_bad_seq: int | None = None
    reason: str | None = None
    head_seq: int | None = None
    head_hash: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AuditDraft:
    """An entry to append with :meth:`AuditLog.record_many`."""

    actor: str
    action: str
    subject_type: str
    subject_id: str
    model: str | ModelRef | None = None
    consent_version: int | None = None
    details: Mapping[str, Any] | None = field(default=None)


def _canonical_ts(ts: datetime) -> str:
    # SQLite returns naive datetimes (stored as UTC); PostgreSQL returns aware ones.
    aware = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return aware.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, ModelRef):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays
        return value.tolist()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, no whitespace, no NaN) used for hashing."""
    try:
        return json.dumps(
            value,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            default=_json_default,
        )
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"audit details must be finite JSON values: {exc}") from exc


def entry_hash(fields: Mapping[str, Any], prev_hash: str) -> str:
    """sha256 over the canonical JSON of an entry's fields plus ``prev_hash``."""
    payload = {
        "seq": fields["seq"],
        "ts": _canonical_ts(fields["ts"]),
        "actor": fields["actor"],
        "action": fields["action"],
        "subject_type": fields["subject_type"],
        "subject_id": fields["subject_id"],
        "model": fields["model"],
        "consent_version": fields["consent_version"],
        "details": fields["details"],
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def _entry(row: AuditEntryRow) -> AuditEntry:
    return AuditEntry(
        row.seq,
        row.ts,
        row.actor,
        row.action,
        row.subject_type,
        row.subject_id,
        row.model,
        row.consent_version,
        dict(row.details or {}),
        row.prev_hash,
        row.hash,
    )


def _require(name: str, value: str, max_len: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"audit {name} must be a non-empty string")
    if len(value) > max_len:
        raise InvalidInput(f"audit {name} is longer than {max_len} characters")
    return value


class AuditLog:
    """Append, query and verify the hash-chained audit log."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- writing -----------------------------------------------------------------

    def lock(self, session: Session) -> None:
        """Take the append lock inside ``session``'s transaction (held until it ends).

        Callers that read state and then write it plus an audit entry (consent
        updates) take it first so their read-modify-write is serialised too.
        Taking it twice in one transaction is harmless.
        """
        if self.db.is_sqlite:
            # The first write statement of a transaction takes SQLite's write
            # lock even when it matches no row: BEGIN IMMEDIATE semantics that
            # work whether or not the session's transaction already began.
            session.execute(text("UPDATE audit_log SET seq = seq WHERE 0"))
        else:
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})

    def record(
        self,
        actor: str,
        action: str,
        subject_type: str,
        subject_id: str,
        *,
        model: str | ModelRef | None = None,
        consent_version: int | None = None,
        details: Mapping[str, Any] | None = None,
        session: Session | None = None,
    ) -> AuditEntry:
        """Append one entry. Pass ``session`` to commit it atomically with a business write.

        Example:
            >>> log.record("key:ab12", "model.promoted", "model", "ranker",
            ...            model="ranker@3")  # doctest: +SKIP
        """
        draft = AuditDraft(actor, action, subject_type, subject_id, model, consent_version, details)
        return self.record_many([draft], session=session)[0]

    def record_many(
        self, drafts: Iterable[AuditDraft], *, session: Session | None = None
    ) -> list[AuditEntry]:
        """Append several entries under one lock and one commit (high-volume ML decisions)."""
        prepared = [self._prepare(d) for d in drafts]
        if not prepared:
            return []
        with self._session(session) as s:
            self.lock(s)
            tail = s.execute(
                select(AuditEntryRow.seq, AuditEntryRow.hash)
                .order_by(AuditEntryRow.seq.desc())
                .limit(1)
            ).first()
            seq, prev = (tail[0], tail[1]) if tail else (0, GENESIS_HASH)
            out: list[AuditEntry] = []
            for fields in prepared:
                seq += 1
                fields["seq"] = seq
                fields["ts"] = datetime.now(UTC)
                digest = entry_hash(fields, prev)
                row = AuditEntryRow(**fields, prev_hash=prev, hash=digest)
                s.add(row)
                out.append(AuditEntry(**fields, prev_hash=prev, hash=digest))
                prev = digest
            s.flush()
        return out

    @contextmanager
    def _session(self, session: Session | None) -> Iterator[Session]:
        if session is not None:
            yield session
        else:
            with self.db.session() as s:
                yield s

    @staticmethod
    def _prepare(draft: AuditDraft) -> dict[str, Any]:
        details = dict(draft.details or {})
        model = str(draft.model) if draft.model is not None else None
        if model is not None and len(model) > 128:
            raise InvalidInput("audit model reference is longer than 128 characters")
        if draft.consent_version is not None and not isinstance(draft.consent_version, int):
            raise InvalidInput("audit consent_version must be an integer")
        return {
            "actor": _require("actor", draft.actor, 128),
            "action": _require("action", draft.action, 128),
            "subject_type": _require("subject_type", draft.subject_type, 64),
            "subject_id": _require("subject_id", str(draft.subject_id), 128),
            "model": model,
            "consent_version": draft.consent_version,
            # Stored exactly as hashed: the JSON round trip turns tuples into
            # lists, numpy scalars into numbers, so verify() recomputes the same.
            "details": json.loads(canonical_json(details)),
        }

    # -- reading -----------------------------------------------------------------

    def query(
        self,
        subject_type: str | None = None,
        subject_id: str | None = None,
        action: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        cursor: str | int | None = None,
    ) -> AuditPage:
        """Entries matching every given filter, newest first, keyset-paginated.

        Example:
            >>> page = log.query(subject_type="user", subject_id="u-1")  # doctest: +SKIP
            >>> more = log.query(subject_id="u-1", cursor=page.next_cursor)  # doctest: +SKIP
        """
        if not 1 <= limit <= MAX_QUERY_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_QUERY_LIMIT}")
        stmt = select(AuditEntryRow)
        for column, value in (
            (AuditEntryRow.subject_type, subject_type),
            (AuditEntryRow.subject_id, subject_id),
            (AuditEntryRow.action, action),
            (AuditEntryRow.actor, actor),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        if since is not None:
            # Compare in UTC: SQLite stores UTC wall time and drops any offset on binding.
            since = since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
            stmt = stmt.where(AuditEntryRow.ts >= since)
        if cursor is not None:
            try:
                before = int(cursor)
            except (TypeError, ValueError) as exc:
                raise InvalidInput(f"invalid audit cursor {cursor!r}") from exc
            stmt = stmt.where(AuditEntryRow.seq < before)
        stmt = stmt.order_by(AuditEntryRow.seq.desc()).limit(limit + 1)
        with self.db.session() as s:
            rows = list(s.scalars(stmt))
        entries = [_entry(r) for r in rows[:limit]]
        next_cursor = str(entries[-1].seq) if len(rows) > limit else None
        return AuditPage(entries, next_cursor)

    def verify(self) -> ChainReport:
        """Walk the whole chain; report the first edited, deleted or reordered entry.

        Example:
            >>> report = log.verify()  # doctest: +SKIP
            >>> report.ok, report.first_bad_seq  # doctest: +SKIP
            (False, 42)
        """
        expected_seq, prev, checked, last = 1, GENESIS_HASH, 0, 0
        while True:
            with self.db.session() as s:
                rows = list(
                    s.scalars(
                        select(AuditEntryRow)
                        .where(AuditEntryRow.seq > last)
                        .order_by(AuditEntryRow.seq)
                        .limit(_VERIFY_BATCH)
                    )
                )
            if not rows:
                break
            for row in rows:
                bad = self._check(row, expected_seq, prev)
                if bad is not None:
                    return ChainReport(False, checked, bad[0], bad[1])
                checked += 1
                expected_seq, prev, last = row.seq + 1, row.hash, row.seq
        return ChainReport(
            True, checked, head_seq=last or None, head_hash=prev if checked else None
        )

    @staticmethod
    def _check(row: AuditEntryRow, expected_seq: int, prev: str) -> tuple[int, str] | None:
        if row.seq != expected_seq:
            return expected_seq, (
                f"entry {expected_seq} is missing (deleted): the next entry has seq {row.seq}"
            )
        fields = {
            "seq": row.seq,
            "ts": row.ts,
            "actor": row.actor,
            "action": row.action,
            "subject_type": row.subject_type,
            "subject_id": row.subject_id,
            "model": row.model,
            "consent_version": row.consent_version,
            "details": row.details if row.details is not None else {},
        }
        if entry_hash(fields, row.prev_hash) != row.hash:
            return row.seq, "hash mismatch: the entry was edited"
        if row.prev_hash != prev:
            return row.seq, (
                "prev_hash does not match the previous entry's hash: an entry "
                "before it was deleted, replaced or reordered"
            )
        return None
