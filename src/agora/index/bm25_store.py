"""Durable document store behind the embedded BM25 index (SQLite).

bm25s builds static indexes, so the documents themselves (fields, language,
analysed terms) are kept here, each stamped with the write sequence number
that last changed it; deletions leave a tombstone with their sequence. The
BM25 "main" index is built from a snapshot at some sequence S; everything
changed after S is the delta.

Example:
    >>> import tempfile, pathlib
    >>> store = DocStore(pathlib.Path(tempfile.mkdtemp()) / "docs.db")
    >>> store.upsert([("a", "en", {"title": "Red car"}, ["red", "car"])])
    1
    >>> store.changed_since(0)[0][0]
    'a'
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    language TEXT NOT NULL,
    fields TEXT NOT NULL,
    terms TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS docs_seq ON docs (seq);
CREATE TABLE IF NOT EXISTS tombstones (id TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS labels (k TEXT PRIMARY KEY, v TEXT NOT NULL);
"""

Row = tuple[str, str, dict[str, str], list[str]]  # id, language, fields, terms


class DocStore:
    """Documents, their terms and tombstones, stamped with write sequence numbers."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None, timeout=30
        )
        self._lock = threading.Lock()
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    def head(self) -> int:
        with self._lock:
            row = self._conn.execute("SELECT v FROM meta WHERE k='seq'").fetchone()
        return int(row[0]) if row else 0

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM docs").fetchone()[0])

    def upsert(self, rows: Sequence[Row]) -> int:
        """Write documents under one new sequence number; return it."""
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                seq = self._next_seq(cur)
                cur.executemany(
                    "INSERT INTO docs (id, seq, language, fields, terms) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET seq=excluded.seq, language=excluded.language, "
                    "fields=excluded.fields, terms=excluded.terms",
                    [(i, seq, lang, json.dumps(f), " ".join(t)) for i, lang, f, t in rows],
                )
                cur.executemany("DELETE FROM tombstones WHERE id=?", [(r[0],) for r in rows])
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return seq

    def delete(self, ids: Sequence[str]) -> tuple[list[str], int]:
        """Remove documents, leaving tombstones; return the ids that existed and the sequence."""
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                present = [
                    i for i in ids if cur.execute("SELECT 1 FROM docs WHERE id=?", (i,)).fetchone()
                ]
                seq = self._next_seq(cur) if present else 0
                cur.executemany("DELETE FROM docs WHERE id=?", [(i,) for i in present])
                cur.executemany(
                    "INSERT INTO tombstones (id, seq) VALUES (?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET seq=excluded.seq",
                    [(i, seq) for i in present],
                )
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return present, seq

    def changed_since(self, seq: int) -> list[tuple[str, str, list[str]]]:
        """(id, language, terms) of documents written after ``seq``."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, language, terms FROM docs WHERE seq > ?", (seq,)
            ).fetchall()
        return [(i, lang, t.split()) for i, lang, t in rows]

    def deleted_since(self, seq: int) -> list[str]:
        with self._lock:
            rows = self._conn.execute("SELECT id FROM tombstones WHERE seq > ?", (seq,)).fetchall()
        return [r[0] for r in rows]

    def snapshot(self, batch: int = 10_000) -> tuple[int, Iterator[tuple[str, str, list[str]]]]:
        """The current sequence and an iterator over every document's (id, language, terms)
        as of it (a read transaction keeps the view consistent while it is consumed)."""
        reader = sqlite3.connect(self._conn.execute("PRAGMA database_list").fetchone()[2])
        reader.execute("BEGIN")
        row = reader.execute("SELECT v FROM meta WHERE k='seq'").fetchone()
        seq = int(row[0]) if row else 0

        def rows() -> Iterator[tuple[str, str, list[str]]]:
            try:
                cursor = reader.execute("SELECT id, language, terms FROM docs ORDER BY rowid")
                while chunk := cursor.fetchmany(batch):
                    for i, lang, t in chunk:
                        yield i, lang, t.split()
            finally:
                reader.close()

        return seq, rows()

    def fields(self, ids: Sequence[str]) -> dict[str, tuple[str, dict[str, str]]]:
        """id -> (language, fields) for highlighting."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT id, language, fields FROM docs WHERE id IN ({','.join('?' * len(ids))})",
                list(ids),
            ).fetchall()
        return {i: (lang, json.loads(f)) for i, lang, f in rows}

    def label(self, key: str) -> str | None:
        """A recorded text setting of the index (its analyser version), if any."""
        with self._lock:
            row = self._conn.execute("SELECT v FROM labels WHERE k=?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_label(self, key: str, value: str) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO labels (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v=excluded.v",
                (key, value),
            )

    def documents(self, batch: int = 5000) -> Iterator[list[tuple[str, str, dict[str, str]]]]:
        """Every stored (id, language, fields), in batches (re-analysis reads them all)."""
        last = ""
        while True:
            with self._lock:
                rows = self._conn.execute(
                    "SELECT id, language, fields FROM docs WHERE id > ? ORDER BY id LIMIT ?",
                    (last, batch),
                ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [(i, lang, json.loads(f)) for i, lang, f in rows]

    def languages(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self._conn.execute("SELECT DISTINCT language FROM docs")}

    def prune_tombstones(self, upto: int) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM tombstones WHERE seq <= ?", (upto,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @staticmethod
    def _next_seq(cur: sqlite3.Cursor) -> int:
        row = cur.execute("SELECT v FROM meta WHERE k='seq'").fetchone()
        seq = (int(row[0]) if row else 0) + 1
        cur.execute(
            "INSERT INTO meta (k, v) VALUES ('seq', ?) ON CONFLICT(k) DO UPDATE SET v=excluded.v",
            (seq,),
        )
        return seq
