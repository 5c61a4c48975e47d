"""Stored alerts: what the scheduled checks found wrong, kept until someone looks.

A check reports, for one alert ``kind``, the conditions it found firing
(:class:`Condition`: a subject such as a model, a route or a queue, a
severity, a message, the measured value and its threshold) and, optionally,
which subjects it evaluated. :meth:`AlertStore.report` then

* opens an alert for a condition seen for the first time;
* refreshes the open alert of a condition that persists (``last_seen``,
  ``occurrences``, the latest value and message): one row per episode, never a
  row per check;
* resolves (``resolved_at``) every open alert of that kind whose subject was
  evaluated and no longer fires. A later recurrence opens a new alert.

A person acknowledges an alert (who, when, a note), audited with their key.
The Prometheus counter ``agora_alerts_stored_total{kind, event}`` counts
alerts opened, resolved and acknowledged.

Example:
    >>> store = AlertStore(db, audit)  # doctest: +SKIP
    >>> store.report("queue_backlog", [Condition("asset.uploaded/pipeline", "warning",
    ...              "1200 events waiting", value=1200, threshold=1000)])  # doctest: +SKIP
    AlertUpdate(opened=[Alert(id=1, ...)], refreshed=[], resolved=[])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from agora.errors import InvalidInput, NotFound
from agora.mlops.tables import AlertRow
from agora.ops.metrics import ALERTS_STORED
from agora.storage.database import rowcount
from agora.storage.tables import stored_utc

if TYPE_CHECKING:
    from agora.governance.audit import AuditLog
    from agora.storage.database import Database

Severity = Literal["info", "warning", "error", "critical"]
AlertState = Literal["open", "resolved", "all"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "error", "critical")
# What the built-in checks raise (agora.mlops.checks, agora.mlops.alert_rules).
ALERT_KINDS = (
    "drift",
    "canary_rollback",
    "fallback_rate",
    "error_rate",
    "queue_backlog",
    "job_failed",
)


@dataclass(frozen=True)
class Condition:
    """A condition one check found firing for one subject."""

    subject: str
    severity: Severity
    message: str
    value: float | None = None
    threshold: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Alert:
    """One stored alert: a condition from first seen until it cleared."""

    id: int
    kind: str
    severity: str
    subject: str
    message: str
    value: float | None
    threshold: float | None
    details: dict[str, Any]
    occurrences: int
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    acked_at: datetime | None
    acked_by: str | None
    ack_note: str | None

    @property
    def open(self) -> bool:
        """Whether the condition still fired at the last check."""
        return self.resolved_at is None

    @property
    def acknowledged(self) -> bool:
        return self.acked_at is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "severity": self.severity,
            "subject": self.subject,
            "message": self.message,
            "value": self.value,
            "threshold": self.threshold,
            "details": self.details,
            "occurrences": self.occurrences,
            "state": "open" if self.open else "resolved",
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "resolved_at": self.resolved_at,
            "acknowledged": self.acknowledged,
            "acked_at": self.acked_at,
            "acked_by": self.acked_by,
            "ack_note": self.ack_note,
        }


@dataclass(frozen=True)
class AlertUpdate:
    """What one check's report changed."""

    opened: list[Alert] = field(default_factory=list)
    refreshed: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[int]]:
        """Alert ids, for a check's job result."""
        return {
            "opened": [a.id for a in self.opened],
            "refreshed": [a.id for a in self.refreshed],
            "resolved": [a.id for a in self.resolved],
        }


@dataclass(frozen=True)
class AlertPage:
    """A page of alerts, newest first, and the cursor of the next (None on the last)."""

    items: list[Alert]
    next_cursor: str | None


def _alert(row: AlertRow) -> Alert:
    def aware(ts: datetime | None) -> datetime | None:
        return None if ts is None else stored_utc(ts)

    return Alert(
        id=int(row.id),
        kind=row.kind,
        severity=row.severity,
        subject=row.subject,
        message=row.message,
        value=row.value,
        threshold=row.threshold,
        details=dict(row.details or {}),
        occurrences=int(row.occurrences),
        first_seen=stored_utc(row.first_seen),
        last_seen=stored_utc(row.last_seen),
        resolved_at=aware(row.resolved_at),
        acked_at=aware(row.acked_at),
        acked_by=row.acked_by,
        ack_note=row.ack_note,
    )


def _open_key(kind: str, subject: str) -> str:
    return f"{kind}:{subject}"[:300]


def _finite(value: float | None) -> float | None:
    """NaN and infinities are not stored (JSON and the API have no such numbers)."""
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return None
    return float(value)


class AlertStore:
    """Open, refresh, resolve, list and acknowledge alerts in the catalog database."""

    def __init__(self, db: Database, audit: AuditLog) -> None:
        """Alerts in ``db``; acknowledgements recorded in ``audit``."""
        self.db = db
        self.audit = audit

    # -- what the checks call ---------------------------------------------------------

    def report(
        self,
        kind: str,
        firing: Iterable[Condition],
        *,
        checked: Iterable[str] | None = None,
        now: datetime | None = None,
    ) -> AlertUpdate:
        """Record one check's findings for ``kind``.

        ``firing``: the conditions found now. ``checked``: the subjects the check
        evaluated (None: every subject of ``kind``); an open alert of a checked
        subject that is not firing any more is resolved.
        """
        if not kind or len(kind) > 32:
            raise InvalidInput("an alert kind is 1 to 32 characters")
        now = now or datetime.now(UTC)
        changes = AlertUpdate()
        firing = list(firing)
        for condition in firing:
            alert, opened = self._raise(kind, condition, now)
            (changes.opened if opened else changes.refreshed).append(alert)
        subjects = {c.subject for c in firing}
        scope = None if checked is None else set(checked)
        with self.db.session() as s:
            rows = s.scalars(
                select(AlertRow).where(AlertRow.kind == kind, AlertRow.open_key.is_not(None))
            ).all()
            for row in rows:
                if row.subject in subjects or (scope is not None and row.subject not in scope):
                    continue
                row.open_key = None
                row.resolved_at = now
                changes.resolved.append(_alert(row))
        ALERTS_STORED.labels(kind, "opened").inc(len(changes.opened))
        ALERTS_STORED.labels(kind, "resolved").inc(len(changes.resolved))
        return changes

    def _raise(self, kind: str, c: Condition, now: datetime) -> tuple[Alert, bool]:
        """The open alert of (kind, subject), refreshed, or a new one; True when new."""
        if c.severity not in SEVERITIES:
            raise InvalidInput(f"severity {c.severity!r} is not one of {', '.join(SEVERITIES)}")
        key = _open_key(kind, c.subject)
        for _ in range(3):  # a concurrent check may open the same alert in between
            with self.db.session() as s:
                # One UPDATE, not read-then-write: concurrent checks each count
                # (SQLite takes no row lock on a SELECT).
                moved = s.execute(
                    update(AlertRow)
                    .where(AlertRow.open_key == key)
                    .values(
                        severity=c.severity,
                        message=c.message,
                        value=_finite(c.value),
                        threshold=_finite(c.threshold),
                        details=dict(c.details),
                        occurrences=AlertRow.occurrences + 1,
                        last_seen=now,
                    )
                )
                if rowcount(moved):
                    row = s.scalars(select(AlertRow).where(AlertRow.open_key == key)).one()
                    return _alert(row), False
            try:
                with self.db.session() as s:
                    row = AlertRow(
                        kind=kind,
                        severity=c.severity,
                        subject=c.subject[:255],
                        message=c.message,
                        value=_finite(c.value),
                        threshold=_finite(c.threshold),
                        details=dict(c.details),
                        occurrences=1,
                        open_key=key,
                        first_seen=now,
                        last_seen=now,
                    )
                    s.add(row)
                    s.flush()
                    return _alert(row), True
            except IntegrityError:
                continue  # opened by another process: refresh that one
        raise RuntimeError(f"could not open or refresh the alert {key!r}")

    # -- what people call -------------------------------------------------------------

    def get(self, alert_id: int) -> Alert:
        """One alert; ``NotFound`` for an unknown id."""
        with self.db.session() as s:
            row = s.get(AlertRow, alert_id)
            if row is None:
                raise NotFound(f"alert {alert_id} not found")
            return _alert(row)

    def page(
        self,
        *,
        kind: str | None = None,
        severity: str | None = None,
        subject: str | None = None,
        state: AlertState = "all",
        acknowledged: bool | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> AlertPage:
        """Alerts newest first, filtered; ``cursor`` is the previous page's ``next_cursor``."""
        if not 1 <= limit <= 500:
            raise InvalidInput("limit must be between 1 and 500")
        q = select(AlertRow).order_by(AlertRow.id.desc()).limit(limit + 1)
        if cursor is not None:
            if not cursor.isdigit():
                raise InvalidInput(f"not a cursor of this list: {cursor[:40]!r}")
            q = q.where(AlertRow.id < int(cursor))
        if kind:
            q = q.where(AlertRow.kind == kind)
        if severity:
            q = q.where(AlertRow.severity == severity)
        if subject:
            q = q.where(AlertRow.subject == subject)
        if state == "open":
            q = q.where(AlertRow.resolved_at.is_(None))
        elif state == "resolved":
            q = q.where(AlertRow.resolved_at.is_not(None))
        if acknowledged is not None:
            q = q.where(
                AlertRow.acked_at.is_not(None) if acknowledged else AlertRow.acked_at.is_(None)
            )
        with self.db.session() as s:
            rows = list(s.scalars(q))
        more = len(rows) > limit
        items = [_alert(r) for r in rows[:limit]]
        return AlertPage(items, str(items[-1].id) if more else None)

    def open_counts(self) -> dict[str, int]:
        """Open alerts by severity (every severity present, zeros included)."""
        with self.db.session() as s:
            rows = s.execute(
                select(AlertRow.severity, func.count())
                .where(AlertRow.resolved_at.is_(None))
                .group_by(AlertRow.severity)
            ).all()
        found = {str(k): int(n) for k, n in rows}
        return {sev: found.get(sev, 0) for sev in SEVERITIES}

    def acknowledge(self, alert_id: int, actor: str, note: str = "") -> Alert:
        """Mark an alert as seen by ``actor`` (audited as ``alert.acknowledged``).

        Acknowledging does not resolve it: only its check does, when the condition
        clears. Acknowledging again keeps the first acknowledgement (no new audit entry).
        """
        with self.db.session() as s:
            # Only the first acknowledgement writes (a conditional UPDATE: two people
            # clicking at once record one).
            first = s.execute(
                update(AlertRow)
                .where(AlertRow.id == alert_id, AlertRow.acked_at.is_(None))
                .values(acked_at=datetime.now(UTC), acked_by=actor[:128], ack_note=note or None)
            )
            row = s.get(AlertRow, alert_id)
            if row is None:
                raise NotFound(f"alert {alert_id} not found")
            if rowcount(first):
                self.audit.record(
                    actor,
                    "alert.acknowledged",
                    "alert",
                    str(alert_id),
                    details={"kind": row.kind, "subject": row.subject, "note": note},
                    session=s,
                )
                ALERTS_STORED.labels(row.kind, "acknowledged").inc()
            return _alert(row)
