"""Server vector index: PostgreSQL + pgvector, one table per named index, HNSW (cosine).

Each index is a table ``agora_vec_<name> (id text primary key, embedding
vector(dim))`` with an HNSW index on ``vector_cosine_ops``; the encoder key and
dimension live in ``agora_vector_indexes`` and are checked on every write and
query, so vectors from two 384-d encoders never mix. The extension is created
on first use (the database role needs the right to do so once).

Example:
    >>> index = PgVectorIndex("postgresql://postgres@127.0.0.1/agora", "assets")  # doctest: +SKIP
    >>> index.add(["a"], vectors, encoder="minilm@l6-v2-int8")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
from pgvector.psycopg import register_vector
from sqlalchemy import event

from agora.errors import InvalidInput
from agora.index.base import VectorHit
from agora.index.vectors import as_matrix, check_encoder, check_ids, validate_name
from agora.storage.database import make_engine, raw_cursor

_META = """
CREATE TABLE IF NOT EXISTS agora_vector_indexes (
    name text PRIMARY KEY,
    encoder text NOT NULL,
    dim integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""


class PgVectorIndex:
    """pgvector HNSW index over string ids, bound to one encoder.

    ``m`` and ``ef_construction`` shape the graph when the table is created;
    ``ef_search`` is set per query (raised to ``k`` when ``k`` is larger).
    ``allowed`` sets up to ``exact_below`` ids are searched exactly; larger
    ones use pgvector's iterative index scan with the filter applied.
    """

    def __init__(
        self,
        url: str,
        name: str,
        *,
        m: int = 16,
        ef_construction: int = 64,
        ef_search: int = 200,
        exact_below: int = 4096,
        pool_size: int = 4,
    ) -> None:
        self.name = validate_name(name)
        self.table = f"agora_vec_{self.name}"
        self._m, self._ef_construction, self._ef_search = m, ef_construction, ef_search
        self._exact_below = exact_below
        self._engine = make_engine(url, pool_size=pool_size)
        with self._engine.begin() as conn:
            # Serialise first-time setup across processes (CREATE ... IF NOT EXISTS races).
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('agora_vector_indexes'))")
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS vector")
            conn.exec_driver_sql(_META)
        self._engine.dispose()  # pooled connections predate the vector type: drop them
        event.listen(self._engine, "connect", _register_vector)
        self._encoder: str | None = None
        self._dim: int | None = None
        self._read_binding()

    @property
    def encoder(self) -> str | None:
        if self._encoder is None:
            self._read_binding()
        return self._encoder

    def __len__(self) -> int:
        if self.encoder is None:
            return 0
        with self._cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {self.table}")
            row = cur.fetchone()
        return int(row[0]) if row else 0

    def add(self, ids: Sequence[str], vectors: np.ndarray, *, encoder: str) -> None:
        """Insert or replace (upsert) vectors."""
        matrix = as_matrix(vectors, self._dim)
        ids = check_ids(ids, matrix.shape[0])
        check_encoder(self.encoder, encoder, self.name)
        if not ids:
            return
        if self._encoder is None:
            self._bind(encoder, matrix.shape[1])
        with self._cursor() as cur:
            cur.executemany(
                f"INSERT INTO {self.table} (id, embedding) VALUES (%s, %s) "
                "ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding",
                list(zip(ids, matrix, strict=True)),
            )

    def delete(self, ids: Sequence[str]) -> None:
        """Remove ids; unknown ids are ignored."""
        ids = [i for i in ids if isinstance(i, str)]
        if not ids or self.encoder is None:
            return
        with self._cursor() as cur:
            cur.execute(f"DELETE FROM {self.table} WHERE id = ANY(%s)", (ids,))

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        encoder: str,
        allowed: Collection[str] | None = None,
    ) -> list[list[VectorHit]]:
        """Top-``k`` hits per query row, best first (score = cosine similarity)."""
        matrix = as_matrix(queries, self._dim)
        if k < 0:
            raise InvalidInput("k must be >= 0")
        check_encoder(self.encoder, encoder, self.name)
        if self._encoder is None or k == 0:
            return [[] for _ in range(matrix.shape[0])]
        allowed_ids = None if allowed is None else list(set(allowed))
        out: list[list[VectorHit]] = []
        with self._cursor() as cur:
            cur.execute(f"SET LOCAL hnsw.ef_search = {max(self._ef_search, k)}")
            for query in matrix:
                if allowed_ids is None:
                    cur.execute(
                        f"SELECT id, 1 - (embedding <=> %s) FROM {self.table} "
                        "ORDER BY embedding <=> %s LIMIT %s",
                        (query, query, k),
                    )
                elif len(allowed_ids) <= self._exact_below:
                    # A materialised CTE cannot use the HNSW index: exact over the subset.
                    cur.execute(
                        f"WITH c AS MATERIALIZED (SELECT id, embedding FROM {self.table} "
                        "WHERE id = ANY(%s)) SELECT id, 1 - (embedding <=> %s) FROM c "
                        "ORDER BY embedding <=> %s LIMIT %s",
                        (allowed_ids, query, query, k),
                    )
                else:
                    cur.execute("SET LOCAL hnsw.iterative_scan = strict_order")
                    cur.execute(
                        f"SELECT id, 1 - (embedding <=> %s) FROM {self.table} "
                        "WHERE id = ANY(%s) ORDER BY embedding <=> %s LIMIT %s",
                        (query, allowed_ids, query, k),
                    )
                out.append([VectorHit(i, float(s)) for i, s in cur.fetchall()])
        return out

    def get(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of the ids that exist."""
        wanted = [i for i in ids if isinstance(i, str)]
        if not wanted or self.encoder is None:
            return {}
        with self._cursor() as cur:
            cur.execute(f"SELECT id, embedding FROM {self.table} WHERE id = ANY(%s)", (wanted,))
            return {i: _as_array(v) for i, v in cur.fetchall()}

    def close(self) -> None:
        """Release pooled connections (every write is already committed)."""
        self._engine.dispose()

    # -- internals --------------------------------------------------------

    def _cursor(self) -> AbstractContextManager[Any]:
        return raw_cursor(self._engine)

    def _read_binding(self) -> None:
        with self._cursor() as cur:
            cur.execute(
                "SELECT encoder, dim FROM agora_vector_indexes WHERE name = %s", (self.name,)
            )
            row = cur.fetchone()
        if row:
            self._encoder, self._dim = row[0], int(row[1])

    def _bind(self, encoder: str, dim: int) -> None:
        """Record the encoder and create the table and its HNSW index (first write)."""
        with self._cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.table,))
            cur.execute(
                "INSERT INTO agora_vector_indexes (name, encoder, dim) VALUES (%s, %s, %s) "
                "ON CONFLICT (name) DO NOTHING",
                (self.name, encoder, dim),
            )
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} "
                f"(id text PRIMARY KEY, embedding vector({dim}) NOT NULL)"
            )
            cur.execute(
                f"CREATE INDEX IF NOT EXISTS {self.table}_hnsw ON {self.table} "
                f"USING hnsw (embedding vector_cosine_ops) "
                f"WITH (m = {self._m}, ef_construction = {self._ef_construction})"
            )
        self._read_binding()
        check_encoder(self._encoder, encoder, self.name)
        if self._dim != dim:
            raise InvalidInput(f"vectors have {dim} dimensions, the index has {self._dim}")


def _register_vector(dbapi_conn: Any, _record: Any) -> None:
    register_vector(dbapi_conn)


def _as_array(value: Any) -> np.ndarray:
    """pgvector returns ``Vector`` objects (binary protocol) or numpy arrays (text)."""
    if hasattr(value, "to_numpy"):
        value = value.to_numpy()
    return np.asarray(value, dtype=np.float32)
