"""Embedded event bus: a durable SQLite outbox shared by every process on one machine.

``memory://`` keeps events in ``<data_dir>/bus.db`` (``memory://?path=/x/bus.db``
overrides the file), so a restart loses nothing. API worker processes publish
and worker processes consume the same file; every claim is one ``BEGIN
IMMEDIATE`` transaction, so two processes never take the same delivery.

Layout: ``bus_events`` is the outbox (one row per event, ``seq`` orders a
topic); ``bus_groups`` holds each consumer group's cursor (last ``seq`` handed
out); ``bus_deliveries`` is the group's pending list: a row per delivery that
is in flight (``claimed_by``/``lease_until``) or waiting for a retry
(``next_attempt_at``). An ack deletes the pending row, so the table stays as
small as the work in progress. Dead letters keep a copy of the event, so
trimming the outbox never loses them.

A group created after events were published starts at the beginning of the
topic (like Redis ``XGROUP CREATE ... 0``): a new worker type sees the backlog.

Consumers in this process wake on a ``threading.Condition`` as soon as an event
is published; consumers in other processes poll every ``poll_interval_s``.

Example:
    >>> import tempfile
    >>> from agora.bus.base import Event
    >>> from agora.config import BusSettings
    >>> bus = EmbeddedBus(f"memory://?path={tempfile.mkdtemp()}/bus.db", settings=BusSettings())
    >>> bus.publish(Event(topic="asset.uploaded", payload={"asset_id": "a1"}))
    >>> [d.event.payload for d in bus.consume("asset.uploaded", "pipeline", "w1", block_ms=0)]
    [{'asset_id': 'a1'}]
    >>> bus.close()
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson

from agora.bus.base import DeadLetter, Delivery, Event, EventBus
from agora.config import BusSettings
from agora.errors import InvalidInput
from agora.ops.metrics import EVENTS_PUBLISHED

SCHEMA = """
CREATE TABLE IF NOT EXISTS bus_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    event_id TEXT NOT NULL,
    key TEXT,
    payload BLOB NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS bus_events_topic_seq ON bus_events (topic, seq);
CREATE TABLE IF NOT EXISTS bus_groups (
    topic TEXT NOT NULL,
    grp TEXT NOT NULL,
    cursor INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (topic, grp)
);
CREATE TABLE IF NOT EXISTS bus_deliveries (
    topic TEXT NOT NULL,
    grp TEXT NOT NULL,
    seq INTEGER NOT NULL,
    claimed_by TEXT,
    lease_until REAL,
    attempt INTEGER NOT NULL DEFAULT 1,
    next_attempt_at REAL,
    acked INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    PRIMARY KEY (topic, grp, seq)
);
CREATE TABLE IF NOT EXISTS bus_dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    grp TEXT NOT NULL,
    event_id TEXT NOT NULL,
    key TEXT,
    payload BLOB NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT NOT NULL,
    failed_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS bus_dead_letters_topic ON bus_dead_letters (topic, id);
"""

# One condition per bus file, shared by every bus object in this process, so a
# publish through one object wakes a consumer blocked on another.
_WAKEUPS: dict[str, threading.Condition] = {}
_WAKEUPS_LOCK = threading.Lock()


def _wakeup_for(path: Path) -> threading.Condition:
    with _WAKEUPS_LOCK:
        return _WAKEUPS.setdefault(str(path), threading.Condition())


def bus_path(url: str, data_dir: Path | None) -> Path:
    """The SQLite file named by a ``memory://`` URL (``?path=`` or ``<data_dir>/bus.db``)."""
    parts = urlsplit(url)
    if parts.scheme != "memory":
        raise InvalidInput(f"embedded bus URL must start with memory://, got {url!r}")
    path = parse_qs(parts.query).get("path", [""])[0]
    if path:
        return Path(path).expanduser().absolute()
    if data_dir is None:
        raise InvalidInput("memory:// bus needs settings.data_dir or ?path=/file/bus.db")
    return Path(data_dir).absolute() / "bus.db"


class EmbeddedBus(EventBus):
    """Durable SQLite-outbox bus (see the module docstring for the layout)."""

    poll_interval_s = 0.05

    def __init__(
        self,
        url: str = "memory://",
        *,
        settings: BusSettings | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self.settings = settings or BusSettings()
        self.path = bus_path(url, data_dir)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        query = parse_qs(urlsplit(url).query)
        # NORMAL survives a process crash; FULL also survives power loss (slower).
        self._synchronous = query.get("synchronous", ["NORMAL"])[0].upper()
        self._wakeup = _wakeup_for(self.path)
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        with self._tx() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)

    # -- connections -------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # Autocommit mode: transactions are opened explicitly with BEGIN IMMEDIATE.
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding SQLite's write lock from the start, so a
        read-then-update claim cannot interleave with another process."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- publish -----------------------------------------------------------

    def publish(self, event: Event) -> None:
        self.publish_many([event])

    def publish_many(self, events: Sequence[Event]) -> None:
        if not events:
            return
        rows = [(e.topic, e.id, e.key, orjson.dumps(e.payload), e.created_at) for e in events]
        with self._tx() as conn:
            conn.executemany(
                "INSERT INTO bus_events (topic, event_id, key, payload, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                rows,
            )
        counts: dict[str, int] = {}
        for e in events:
            counts[e.topic] = counts.get(e.topic, 0) + 1
        for topic, n in counts.items():
            EVENTS_PUBLISHED.labels(topic=topic).inc(n)
        with self._wakeup:
            self._wakeup.notify_all()

    # -- consume -----------------------------------------------------------

    def consume(
        self, topic: str, group: str, consumer: str, *, max_count: int = 10, block_ms: int = 1000
    ) -> list[Delivery]:
        if max_count < 1:
            raise InvalidInput("max_count must be >= 1")
        deadline = time.monotonic() + max(block_ms, 0) / 1000
        while True:
            deliveries = self._claim(topic, group, consumer, max_count)
            remaining = deadline - time.monotonic()
            if deliveries or remaining <= 0:
                return deliveries
            with self._wakeup:
                # Woken early by a publish in this process; other processes are
                # seen at the next poll.
                self._wakeup.wait(min(remaining, self.poll_interval_s))

    def _claim(self, topic: str, group: str, consumer: str, max_count: int) -> list[Delivery]:
        now = time.time()
        lease = now + self.settings.visibility_timeout_s
        with self._tx() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO bus_groups (topic, grp, cursor) VALUES (?, ?, 0)",
                (topic, group),
            )
            # Due retries and deliveries whose holder let the lease expire.
            claimed = conn.execute(
                "UPDATE bus_deliveries SET claimed_by = ?, lease_until = ?,"
                " attempt = attempt + 1, next_attempt_at = NULL"
                " WHERE topic = ? AND grp = ? AND seq IN ("
                "  SELECT seq FROM bus_deliveries WHERE topic = ? AND grp = ? AND ("
                "   (claimed_by IS NULL AND next_attempt_at <= ?)"
                "   OR (claimed_by IS NOT NULL AND lease_until <= ?))"
                "  ORDER BY seq LIMIT ?)"
                " RETURNING seq, attempt",
                (consumer, lease, topic, group, topic, group, now, now, max_count),
            ).fetchall()
            room = max_count - len(claimed)
            if room > 0:
                fresh = conn.execute(
                    "INSERT INTO bus_deliveries (topic, grp, seq, claimed_by, lease_until, attempt)"
                    " SELECT topic, ?, seq, ?, ?, 1 FROM bus_events"
                    " WHERE topic = ? AND seq > (SELECT cursor FROM bus_groups"
                    "  WHERE topic = ? AND grp = ?)"
                    " ORDER BY seq LIMIT ?"
                    " RETURNING seq, attempt",
                    (group, consumer, lease, topic, topic, group, room),
                ).fetchall()
                if fresh:
                    conn.execute(
                        "UPDATE bus_groups SET cursor = ? WHERE topic = ? AND grp = ?",
                        (max(s for s, _ in fresh), topic, group),
                    )
                claimed += fresh
            if not claimed:
                return []
            attempts = dict(claimed)
            marks = ",".join("?" * len(attempts))
            rows = conn.execute(
                f"SELECT seq, event_id, key, payload, created_at FROM bus_events"
                f" WHERE seq IN ({marks}) ORDER BY seq",
                list(attempts),
            ).fetchall()
        return [
            Delivery(
                event=_event(topic, event_id, key, payload, created_at),
                group=group,
                attempt=attempts[seq],
                receipt=f"{seq}:{attempts[seq]}",
            )
            for seq, event_id, key, payload, created_at in rows
        ]

    # -- settle ------------------------------------------------------------

    @staticmethod
    def _parse_receipt(delivery: Delivery) -> tuple[int, int]:
        try:
            seq, attempt = delivery.receipt.split(":")
            return int(seq), int(attempt)
        except ValueError:
            raise InvalidInput(f"not an embedded bus receipt: {delivery.receipt!r}") from None

    def ack(self, delivery: Delivery) -> None:
        seq, _ = self._parse_receipt(delivery)
        # A late ack from a consumer whose lease expired still settles the event:
        # the work was done, and handlers are idempotent.
        with self._tx() as conn:
            conn.execute(
                "DELETE FROM bus_deliveries WHERE topic = ? AND grp = ? AND seq = ?",
                (delivery.event.topic, delivery.group, seq),
            )

    def ack_many(self, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return
        rows = [(d.event.topic, d.group, self._parse_receipt(d)[0]) for d in deliveries]
        with self._tx() as conn:
            conn.executemany(
                "DELETE FROM bus_deliveries WHERE topic = ? AND grp = ? AND seq = ?", rows
            )

    def nack(self, delivery: Delivery, error: str, *, retry_in_s: float | None) -> None:
        seq, attempt = self._parse_receipt(delivery)
        topic, group = delivery.event.topic, delivery.group
        with self._tx() as conn:
            if retry_in_s is not None:
                # Only the current holder may reschedule; a stale nack is ignored.
                conn.execute(
                    "UPDATE bus_deliveries SET claimed_by = NULL, lease_until = NULL,"
                    " next_attempt_at = ?, error = ?"
                    " WHERE topic = ? AND grp = ? AND seq = ? AND attempt = ?",
                    (time.time() + max(retry_in_s, 0.0), error, topic, group, seq, attempt),
                )
                return
            gone = conn.execute(
                "DELETE FROM bus_deliveries WHERE topic = ? AND grp = ? AND seq = ? RETURNING seq",
                (topic, group, seq),
            ).fetchall()
            if not gone:
                return  # already settled by someone else
            e = delivery.event
            conn.execute(
                "INSERT INTO bus_dead_letters (topic, grp, event_id, key, payload, created_at,"
                " attempts, error, failed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    topic,
                    group,
                    e.id,
                    e.key,
                    orjson.dumps(e.payload),
                    e.created_at,
                    delivery.attempt,
                    error,
                    time.time(),
                ),
            )

    # -- inspect -----------------------------------------------------------

    def depth(self, topic: str, group: str) -> int:
        conn = self._conn()
        row = conn.execute(
            "SELECT cursor FROM bus_groups WHERE topic = ? AND grp = ?", (topic, group)
        ).fetchone()
        cursor = row[0] if row else 0
        unread = conn.execute(
            "SELECT count(*) FROM bus_events WHERE topic = ? AND seq > ?", (topic, cursor)
        ).fetchone()[0]
        pending = conn.execute(
            "SELECT count(*) FROM bus_deliveries WHERE topic = ? AND grp = ?", (topic, group)
        ).fetchone()[0]
        return int(unread) + int(pending)

    def dead_letters(
        self, topic: str, group: str | None = None, limit: int = 100
    ) -> list[DeadLetter]:
        sql = (
            "SELECT grp, event_id, key, payload, created_at, attempts, error, failed_at"
            " FROM bus_dead_letters WHERE topic = ?"
        )
        args: list[object] = [topic]
        if group is not None:
            sql += " AND grp = ?"
            args.append(group)
        rows = self._conn().execute(sql + " ORDER BY id DESC LIMIT ?", [*args, limit]).fetchall()
        return [
            DeadLetter(
                event=_event(topic, event_id, key, payload, created_at),
                group=grp,
                attempts=attempts,
                error=error,
                failed_at=failed_at,
            )
            for grp, event_id, key, payload, created_at, attempts, error, failed_at in rows
        ]

    def trim(self, topic: str, keep_last: int = 0) -> int:
        """Delete events of ``topic`` that every group has settled, keeping the
        newest ``keep_last``; returns how many were deleted.

        An event still unread or pending in any known group is kept. A group
        created after a trim starts at the oldest remaining event.
        """
        with self._tx() as conn:
            (top,) = conn.execute(
                "SELECT coalesce(max(seq), 0) FROM bus_events WHERE topic = ?", (topic,)
            ).fetchone()
            (floor,) = conn.execute(
                "SELECT coalesce(min(cursor), ?) FROM bus_groups WHERE topic = ?", (top, topic)
            ).fetchone()
            limit = min(top - keep_last, floor) if keep_last else floor
            cur = conn.execute(
                "DELETE FROM bus_events WHERE topic = ? AND seq <= ? AND seq NOT IN"
                " (SELECT seq FROM bus_deliveries WHERE topic = ?)",
                (topic, limit, topic),
            )
            return cur.rowcount

    def ping(self) -> None:
        self._conn().execute("SELECT 1").fetchone()

    def close(self) -> None:
        with self._conns_lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()
        self._local = threading.local()


def _event(topic: str, event_id: str, key: str | None, payload: bytes, created_at: float) -> Event:
    """Rebuild an event from its outbox row."""
    return Event(
        topic=topic, payload=orjson.loads(payload), id=event_id, key=key, created_at=created_at
    )
