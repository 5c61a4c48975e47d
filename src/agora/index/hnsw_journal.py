"""Durable id map and write-ahead journal of the embedded HNSW index (SQLite).

The HNSW graph lives in memory and is saved to a snapshot file now and then;
saving a large graph on every write would be far too slow. So every write is
first committed here: the id -> integer key map and a journal row per change
(with the vector). Reopening loads the snapshot and replays the journal rows
newer than it; once a snapshot is saved, the rows it covers are pruned. Other
processes sharing the directory follow the same journal to stay current.

Example:
    >>> import tempfile, pathlib, numpy as np
    >>> j = VectorJournal(pathlib.Path(tempfile.mkdtemp()) / "journal.db")
    >>> keys, seq = j.record_add(["a"], np.ones((1, 2), np.float32), with_vectors=True)
    >>> j.load_ids()
    {'a': 0}
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ids (id TEXT PRIMARY KEY, key INTEGER NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    op TEXT NOT NULL,
    id TEXT NOT NULL,
    key INTEGER NOT NULL,
    vec BLOB
);
"""


@dataclass(frozen=True)
class JournalEntry:
    seq: int
    op: str  # "add" or "del"
    id: str
    key: int
    vector: np.ndarray | None


class VectorJournal:
    """The id map and change journal of one embedded vector index."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None, timeout=30
        )
        self._lock = threading.Lock()
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    def load_ids(self) -> dict[str, int]:
        with self._lock:
            return dict(self._conn.execute("SELECT id, key FROM ids").fetchall())

    def head(self) -> int:
        """Sequence number of the newest journal row ever written (0 if none)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT seq FROM sqlite_sequence WHERE name='journal'"
            ).fetchone()
        return int(row[0]) if row else 0

    def record_add(
        self, ids: Sequence[str], vectors: np.ndarray, *, with_vectors: bool
    ) -> tuple[list[int], int]:
        """Assign keys (reusing an id's key on upsert), journal the adds; return keys and head.

        ``with_vectors=False`` is for bulk loads that are saved in a snapshot right
        away: the rows then only tell other processes that the id map changed.
        """
        with self._lock, self._transaction() as cur:
            row = cur.execute("SELECT v FROM meta WHERE k='next_key'").fetchone()
            next_key = int(row[0]) if row else 0
            keys: list[int] = []
            for id_ in ids:
                found = cur.execute("SELECT key FROM ids WHERE id=?", (id_,)).fetchone()
                if found:
                    keys.append(int(found[0]))
                else:
                    keys.append(next_key)
                    cur.execute("INSERT INTO ids (id, key) VALUES (?, ?)", (id_, next_key))
                    next_key += 1
            cur.execute(
                "INSERT INTO meta (k, v) VALUES ('next_key', ?) "
                "ON CONFLICT(k) DO UPDATE SET v=excluded.v",
                (str(next_key),),
            )
            cur.executemany(
                "INSERT INTO journal (op, id, key, vec) VALUES ('add', ?, ?, ?)",
                [
                    (id_, key, vectors[i].tobytes() if with_vectors else None)
                    for i, (id_, key) in enumerate(zip(ids, keys, strict=True))
                ],
            )
            head = cur.execute("SELECT seq FROM sqlite_sequence WHERE name='journal'").fetchone()
        return keys, int(head[0])

    def record_delete(self, ids: Sequence[str]) -> tuple[list[tuple[str, int]], int]:
        """Remove ids from the map and journal the deletes; return (id, key) pairs removed."""
        removed: list[tuple[str, int]] = []
        with self._lock, self._transaction() as cur:
            for id_ in ids:
                found = cur.execute("SELECT key FROM ids WHERE id=?", (id_,)).fetchone()
                if found:
                    removed.append((id_, int(found[0])))
            cur.executemany("DELETE FROM ids WHERE id=?", [(i,) for i, _ in removed])
            cur.executemany(
                "INSERT INTO journal (op, id, key, vec) VALUES ('del', ?, ?, NULL)", removed
            )
            head = cur.execute("SELECT seq FROM sqlite_sequence WHERE name='journal'").fetchone()
        return removed, int(head[0]) if head else 0

    def entries_after(self, seq: int, dim: int) -> tuple[list[JournalEntry], bool]:
        """Journal rows newer than ``seq``, and whether they follow it without a gap.

        A gap means the rows right after ``seq`` were pruned by a snapshot, so the
        caller must reload the snapshot instead of replaying.
        """
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, op, id, key, vec FROM journal WHERE seq > ? ORDER BY seq", (seq,)
            ).fetchall()
            head = self._conn.execute(
                "SELECT seq FROM sqlite_sequence WHERE name='journal'"
            ).fetchone()
        # Sequence numbers are gap-free (AUTOINCREMENT inside committed transactions).
        contiguous = rows[0][0] == seq + 1 if rows else (int(head[0]) if head else 0) <= seq
        entries = [
            JournalEntry(
                seq=s,
                op=op,
                id=i,
                key=k,
                vector=np.frombuffer(v, dtype=np.float32).reshape(dim) if v is not None else None,
            )
            for s, op, i, k, v in rows
        ]
        return entries, contiguous

    def prune(self, upto: int) -> None:
        """Drop journal rows covered by a saved snapshot."""
        with self._lock:
            self._conn.execute("DELETE FROM journal WHERE seq <= ?", (upto,))

    def forget(self, ids: Sequence[str]) -> None:
        """Drop ids whose vectors never reached the index (repair after a crash)."""
        with self._lock, self._transaction() as cur:
            cur.executemany("DELETE FROM ids WHERE id=?", [(i,) for i in ids])

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on error (one writer across processes)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> sqlite3.Cursor:
        self._cur = self._conn.cursor()
        self._cur.execute("BEGIN IMMEDIATE")
        return self._cur

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._cur.execute("ROLLBACK" if exc_type else "COMMIT")
        self._cur.close()
