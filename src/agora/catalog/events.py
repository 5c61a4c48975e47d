"""Interaction events: validate a batch, persist it, publish ``interaction.recorded``.

Per-event acceptance: an unknown user id creates the user; an unknown (or
removed) asset id rejects that event only. A repeated ``event_id`` is accepted
once (idempotent retries from clients).

Example:
    >>> platform.event_ingest.record([{"user_id": "u1", "asset_id": "a1",
    ...                                "type": "click"}], actor="key:ab")  # doctest: +SKIP
    [{'index': 0, 'accepted': True, 'event_id': '...'}]
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from agora.bus.base import Event, Topics, new_event_id
from agora.domain import INTERACTION_TYPES, AssetStatus
from agora.storage.tables import AssetRow, InteractionRow, UserRow

if TYPE_CHECKING:
    from agora.bus.base import EventBus
    from agora.storage.database import Database

MAX_FUTURE = timedelta(hours=1)
_ID_MAX = 128


def _parse_ts(value: Any, now: datetime) -> datetime:
    if value is None:
        return now
    if isinstance(value, bool):
        raise ValueError("ts must be an ISO-8601 string or epoch seconds")
    if isinstance(value, datetime):
        ts = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, int | float):
        try:
            ts = datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError("ts is out of range") from None
    elif isinstance(value, str):
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
        # In UTC: SQLite keeps a stamp's wall time and drops its offset, so a
        # "+02:00" time stored as is would sort two hours late there.
        try:
            ts = ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)
        except OverflowError:  # year 1 or 9999 moved past the calendar's edge
            raise ValueError("ts is out of range") from None
    else:
        raise ValueError("ts must be an ISO-8601 string or epoch seconds")
    if ts > now + MAX_FUTURE:
        raise ValueError("ts is in the future")
    return ts


def _validate(raw: Any, now: datetime) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError("event must be a JSON object")
    etype = raw.get("type")
    if etype not in INTERACTION_TYPES:
        raise ValueError(f"type must be one of {sorted(INTERACTION_TYPES)}")
    out: dict[str, Any] = {"type": etype}
    for field in ("user_id", "asset_id"):
        v = raw.get(field)
        if not isinstance(v, str) or not v or len(v) > _ID_MAX or "\x00" in v:
            raise ValueError(f"{field} must be a non-empty string of at most {_ID_MAX} characters")
        out[field] = v
    event_id = raw.get("event_id")
    if event_id is None:
        event_id = new_event_id()
    elif not isinstance(event_id, str) or not event_id or len(event_id) > 64 or "\x00" in event_id:
        raise ValueError("event_id must be a non-empty string of at most 64 characters")
    out["event_id"] = event_id
    out["ts"] = _parse_ts(raw.get("ts"), now)
    session_id = raw.get("session_id")
    if session_id is not None and (
        not isinstance(session_id, str) or len(session_id) > 128 or "\x00" in session_id
    ):
        raise ValueError("session_id must be a string of at most 128 characters")
    out["session_id"] = session_id
    value = raw.get("value")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ValueError("value must be a number")
    out["value"] = value
    context = raw.get("context") or {}
    if not isinstance(context, dict):
        raise ValueError("context must be an object")
    out["context"] = context
    return out


class EventIngest:
    """Record batches of interaction events."""

    def __init__(self, db: Database, bus: EventBus) -> None:
        """Interactions are stored in the catalog ``db`` and announced on ``bus``."""
        self.db, self.bus = db, bus

    def _insert_ignoring_duplicates(
        self, table: Any, rows: list[dict[str, Any]], returning: Any = None
    ) -> set[Any]:
        """Insert rows, skipping existing keys; returns the ``returning`` values
        of the rows actually inserted (one round trip per batch)."""
        dialect = self.db.engine.dialect.name
        stmt = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
        stmt = stmt.on_conflict_do_nothing()
        with self.db.session() as s:
            if returning is None:
                s.execute(stmt, rows)
                return set()
            return set(s.scalars(stmt.returning(returning, sort_by_parameter_order=True), rows))

    def record(self, events: list[Any], actor: str) -> list[dict[str, Any]]:
        """Validate, store and publish; returns per-event acceptance in input order."""
        now = datetime.now(UTC)
        results: list[dict[str, Any]] = []
        valid: list[tuple[int, dict[str, Any]]] = []
        for i, raw in enumerate(events):
            try:
                valid.append((i, _validate(raw, now)))
                results.append({"index": i, "accepted": True})
            except (ValueError, TypeError) as exc:
                results.append({"index": i, "accepted": False, "error": str(exc)})
        if not valid:
            return results
        asset_ids = {e["asset_id"] for _, e in valid}
        user_ids = {e["user_id"] for _, e in valid}
        with self.db.session() as s:
            live = set(
                s.scalars(
                    select(AssetRow.id).where(
                        AssetRow.id.in_(asset_ids), AssetRow.status != AssetStatus.REMOVED.value
                    )
                )
            )
            known_users = set(s.scalars(select(UserRow.id).where(UserRow.id.in_(user_ids))))
        kept: list[dict[str, Any]] = []
        for i, e in valid:
            if e["asset_id"] not in live:
                results[i] = {
                    "index": i,
                    "accepted": False,
                    "error": f"unknown asset id {e['asset_id']!r}",
                }
                continue
            results[i]["event_id"] = e["event_id"]
            kept.append(e)
        if not kept:
            return results
        new_users = {e["user_id"] for e in kept} - known_users
        if new_users:
            self._insert_ignoring_duplicates(
                UserRow.__table__,
                [
                    {"id": u, "attributes": {}, "created_at": now, "updated_at": now}
                    for u in sorted(new_users)
                ],
            )
        inserted = self._insert_ignoring_duplicates(
            InteractionRow.__table__,
            [e | {"created_by": actor} for e in kept],
            returning=InteractionRow.__table__.c.event_id,
        )
        fresh = []
        for i, e in valid:
            if results[i]["accepted"] and e["event_id"] not in inserted:
                # Already recorded (a client retry): accepted, stored once, not re-published.
                results[i]["duplicate"] = True
        for e in kept:
            if e["event_id"] in inserted:
                inserted.discard(e["event_id"])  # a repeated id inside one batch counts once
                fresh.append(e)
        self.bus.publish_many(
            [
                Event(
                    Topics.INTERACTION_RECORDED,
                    {
                        **{k: e[k] for k in ("user_id", "asset_id", "type", "session_id", "value")},
                        "ts": e["ts"].isoformat(),
                        "context": e["context"],
                    },
                    id=e["event_id"],
                    key=e["user_id"],
                )
                for e in fresh
            ]
        )
        return results
