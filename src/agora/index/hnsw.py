"""Embedded vector index: a usearch HNSW graph (cosine) persisted in a directory.

Layout of ``directory``:

* ``manifest.json`` - encoder key, dimension, graph parameters, and the journal
  sequence number the snapshot covers;
* ``graph.usearch`` - the HNSW snapshot;
* ``journal.db`` - the durable id map and every change since the snapshot
  (see :mod:`agora.index.hnsw_journal`).

A write is durable once its journal row commits; snapshots are taken when the
journal has grown by a quarter of the index (amortised, so bulk loads stay
linear) and on ``close``. Searches run concurrently under a shared lock; a
write takes it exclusively. Processes sharing the directory follow each
other's journal (checked at most every ``refresh_interval_s``).

Example:
    >>> import tempfile, pathlib, numpy as np
    >>> index = HnswIndex(pathlib.Path(tempfile.mkdtemp()), "assets")
    >>> index.add(["a", "b"], np.eye(2, 4, dtype=np.float32), encoder="minilm@1")
    >>> [h.id for h in index.search(np.eye(1, 4, dtype=np.float32), 1, encoder="minilm@1")[0]]
    ['a']
    >>> index.close()
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np

# Importing onnxruntime AFTER usearch's compiled module segfaults the process
# (usearch 2.26, onnxruntime 1.x: `import usearch.index; import onnxruntime`
# crashes, the other order works). The encoders need onnxruntime in the same
# process, so load it first, whoever imports the index first.
import onnxruntime  # noqa: F401  (isort keeps plain imports before from-imports)
from usearch.index import Index

from agora.errors import InvalidInput
from agora.index.base import VectorHit
from agora.index.hnsw_journal import JournalEntry, VectorJournal
from agora.index.locks import ReadWriteLock
from agora.index.vectors import as_matrix, check_encoder, check_ids, exact_cosine, validate_name

MANIFEST = "manifest.json"
GRAPH = "graph.usearch"
FORMAT = 1


class HnswIndex:
    """usearch HNSW over string ids, bound to one encoder.

    ``connectivity`` (M), ``expansion_add`` (efConstruction) and
    ``expansion_search`` (ef) trade build time and memory for recall. The
    defaults give recall@10 >= 0.95 on sentence embeddings up to about 150k
    vectors. Million-vector indexes need a larger M and ef (see
    ``benchmarks/search_latency.py``). ``allowed`` sets no larger than
    ``exact_below`` are searched exactly; larger ones by over-fetching.
    """

    def __init__(
        self,
        directory: Path,
        name: str,
        *,
        connectivity: int = 16,
        expansion_add: int = 128,
        expansion_search: int = 128,
        dtype: str = "f32",
        exact_below: int = 4096,
        refresh_interval_s: float = 0.5,
        min_snapshot_rows: int = 20_000,
    ) -> None:
        self.name = validate_name(name)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._params: dict[str, Any] = {
            "connectivity": connectivity,
            "expansion_add": expansion_add,
            "expansion_search": expansion_search,
            "dtype": dtype,
        }
        self._exact_below = exact_below
        self._refresh_interval_s = refresh_interval_s
        self._min_snapshot_rows = min_snapshot_rows
        self._lock = ReadWriteLock()
        self._snapshot_lock = threading.Lock()
        self._journal = VectorJournal(self.directory / "journal.db")
        self._encoder: str | None = None
        self._dim: int | None = None
        self._graph: Index | None = None
        self._key_of: dict[str, int] = {}
        self._id_of: dict[int, str] = {}
        self._applied = 0  # journal sequence reflected in memory
        self._snapshot_seq = 0  # journal sequence covered by graph.usearch
        self._checked_at = 0.0
        self._closed = False
        with self._lock.write():
            self._load()

    # -- public interface -------------------------------------------------

    @property
    def encoder(self) -> str | None:
        return self._encoder

    @property
    def dim(self) -> int | None:
        return self._dim

    def __len__(self) -> int:
        return len(self._key_of)

    def add(self, ids: Sequence[str], vectors: np.ndarray, *, encoder: str) -> None:
        """Insert or replace (upsert) vectors; durable when this returns."""
        self._refresh(force=True)
        matrix = as_matrix(vectors, self._dim)
        ids = check_ids(ids, matrix.shape[0])
        if not ids:
            return
        with self._lock.write():
            check_encoder(self._encoder, encoder, self.name)
            if self._encoder is None:
                self._bind(encoder, matrix.shape[1])
            keys, head = self._journal.record_add(ids, matrix, with_vectors=True)
            if head == self._applied + len(ids):
                self._apply_adds(ids, keys, matrix)
                self._applied = head
            else:  # another process wrote in between: replay in journal order
                self._catch_up()
        self._maybe_snapshot()

    def delete(self, ids: Sequence[str]) -> None:
        """Remove ids; unknown ids are ignored."""
        ids = [i for i in ids if isinstance(i, str)]
        if not ids:
            return
        self._refresh(force=True)
        with self._lock.write():
            removed, head = self._journal.record_delete(ids)
            if head == self._applied + len(removed):
                self._apply_deletes(removed)
                self._applied = head
            else:
                self._catch_up()
        self._maybe_snapshot()

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        encoder: str,
        allowed: Collection[str] | None = None,
    ) -> list[list[VectorHit]]:
        """Top-``k`` hits per query row, best first (score = cosine similarity)."""
        self._refresh()
        matrix = as_matrix(queries, self._dim)
        if k < 0:
            raise InvalidInput("k must be >= 0")
        check_encoder(self._encoder, encoder, self.name)
        with self._lock.read():
            if self._graph is None or not self._key_of or k == 0:
                return [[] for _ in range(matrix.shape[0])]
            if allowed is None:
                return self._search_all(matrix, k)
            keys = np.fromiter(
                (self._key_of[i] for i in set(allowed) if i in self._key_of), dtype=np.uint64
            )
            fetch = min(
                len(self._key_of), math.ceil(2 * k * len(self._key_of) / max(1, len(keys))) + k
            )
            if len(keys) <= self._exact_below or fetch > self._exact_below:
                # Small or very selective filter: brute force over it beats a wide graph walk.
                return self._search_exact(matrix, k, keys)
            return self._search_filtered(matrix, k, keys, fetch)

    def get(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of the ids that exist."""
        self._refresh()
        with self._lock.read():
            present = [i for i in dict.fromkeys(ids) if i in self._key_of]
            if not present or self._graph is None:
                return {}
            keys = np.array([self._key_of[i] for i in present], dtype=np.uint64)
            rows = np.asarray(self._graph.get(keys), dtype=np.float32).reshape(len(keys), -1)
            return {i: rows[n].copy() for n, i in enumerate(present)}

    def flush(self) -> None:
        """Save a snapshot now and prune the journal it covers."""
        with self._snapshot_lock, self._lock.read():
            self._save_snapshot()

    def close(self) -> None:
        """Persist a snapshot if anything changed since the last one, and release files."""
        if self._closed:
            return
        if self._applied > self._snapshot_seq:
            self.flush()
        self._journal.close()
        self._closed = True

    # -- search strategies ------------------------------------------------

    def _search_all(self, matrix: np.ndarray, k: int) -> list[list[VectorHit]]:
        assert self._graph is not None
        count = min(k, len(self._graph))
        matches = self._graph.search(matrix, count)
        return self._hits(matches.keys.reshape(len(matrix), -1), matches.distances, k, None)

    def _search_exact(self, matrix: np.ndarray, k: int, keys: np.ndarray) -> list[list[VectorHit]]:
        """Brute force over a small allowed set: exact and cheap (|allowed| x dim)."""
        assert self._graph is not None
        if len(keys) == 0:
            return [[] for _ in range(matrix.shape[0])]
        base = np.asarray(self._graph.get(keys), dtype=np.float32).reshape(len(keys), -1)
        rows, sims = exact_cosine(matrix, base, k)
        return [
            [VectorHit(self._id_of[int(keys[r])], float(s)) for r, s in zip(rr, ss, strict=True)]
            for rr, ss in zip(rows, sims, strict=True)
        ]

    def _search_filtered(
        self, matrix: np.ndarray, k: int, keys: np.ndarray, fetch: int
    ) -> list[list[VectorHit]]:
        """Over-fetch from the graph in proportion to the filter's selectivity, widening
        until every query has ``k`` allowed hits; fall back to exact search when the
        fetch would cover most of the index."""
        assert self._graph is not None
        allowed = set(keys.tolist())
        size = len(self._graph)
        while True:
            matches = self._graph.search(matrix, fetch)
            hits = self._hits(matches.keys.reshape(len(matrix), -1), matches.distances, k, allowed)
            if all(len(h) >= min(k, len(keys)) for h in hits):
                return hits
            if fetch * 2 >= size:
                return self._search_exact(matrix, k, keys)
            fetch *= 4

    def _hits(
        self, keys: np.ndarray, distances: np.ndarray, k: int, allowed: set[int] | None
    ) -> list[list[VectorHit]]:
        distances = distances.reshape(keys.shape)
        out: list[list[VectorHit]] = []
        for row_keys, row_dist in zip(keys, distances, strict=True):
            hits: list[VectorHit] = []
            for key, dist in zip(row_keys.tolist(), row_dist.tolist(), strict=True):
                id_ = self._id_of.get(key)
                if id_ is None or (allowed is not None and key not in allowed):
                    continue  # usearch pads short results with sentinel keys
                hits.append(VectorHit(id_, 1.0 - float(dist)))
                if len(hits) == k:
                    break
            out.append(hits)
        return out

    # -- state ------------------------------------------------------------

    def _bind(self, encoder: str, dim: int) -> None:
        self._encoder, self._dim = encoder, dim
        self._graph = self._new_graph(dim)
        self._write_manifest()

    def _new_graph(self, dim: int) -> Index:
        return Index(
            ndim=dim,
            metric="cos",
            dtype=self._params["dtype"],
            connectivity=self._params["connectivity"],
            expansion_add=self._params["expansion_add"],
            expansion_search=self._params["expansion_search"],
        )

    def _apply_adds(self, ids: Sequence[str], keys: Sequence[int], matrix: np.ndarray) -> None:
        assert self._graph is not None
        key_array = np.asarray(keys, dtype=np.uint64)
        present = np.asarray(self._graph.contains(key_array), dtype=bool).reshape(-1)
        if present.any():
            self._graph.remove(key_array[present])
        self._graph.add(key_array, matrix)
        for id_, key in zip(ids, keys, strict=True):
            self._key_of[id_] = key
            self._id_of[key] = id_

    def _apply_deletes(self, removed: Sequence[tuple[str, int]]) -> None:
        if not removed:
            return
        if self._graph is not None:
            keys = np.array([k for _, k in removed], dtype=np.uint64)
            present = np.asarray(self._graph.contains(keys), dtype=bool).reshape(-1)
            if present.any():
                self._graph.remove(keys[present])
        for id_, key in removed:
            self._key_of.pop(id_, None)
            self._id_of.pop(key, None)

    def _replay(self, entries: Sequence[JournalEntry]) -> None:
        for entry in entries:
            if entry.op == "add" and entry.vector is not None:
                stale = self._id_of.get(entry.key)
                if stale is not None and stale != entry.id:
                    self._key_of.pop(stale, None)
                self._apply_adds([entry.id], [entry.key], entry.vector[None, :])
            elif entry.op == "del":
                self._apply_deletes([(entry.id, entry.key)])
            self._applied = entry.seq

    def _load(self) -> None:
        """(Re)load manifest, snapshot and id map, then replay the journal."""
        manifest = self._read_manifest()
        self._graph, self._key_of, self._id_of = None, {}, {}
        self._applied = self._snapshot_seq = 0
        if manifest is None:
            return
        self._encoder, self._dim = manifest["encoder"], int(manifest["dim"])
        self._params.update(manifest["params"])
        self._graph = self._new_graph(self._dim)
        if (self.directory / GRAPH).exists():
            self._graph.load(str(self.directory / GRAPH))
        self._snapshot_seq = self._applied = int(manifest["snapshot_seq"])
        # Ids come from the journal db (the truth); the snapshot may lag it.
        entries, _ = self._journal.entries_after(self._applied, self._dim)
        snapshot_ids = self._journal.load_ids()
        pending = {e.id for e in entries}
        for id_, key in snapshot_ids.items():
            if id_ not in pending:
                self._key_of[id_], self._id_of[key] = key, id_
        self._replay(entries)
        self._checked_at = time.monotonic()

    def _refresh(self, *, force: bool = False) -> None:
        """Catch up with writes made by other processes sharing the directory."""
        now = time.monotonic()
        if not force and now - self._checked_at < self._refresh_interval_s:
            return
        self._checked_at = now
        if self._journal.head() == self._applied and self._encoder is not None:
            return
        with self._lock.write():
            self._catch_up()

    def _catch_up(self) -> None:
        """Replay newer journal rows, or reload if a snapshot pruned the ones we need."""
        if self._dim is None:
            self._load()
            return
        entries, contiguous = self._journal.entries_after(self._applied, self._dim)
        if contiguous:
            self._replay(entries)
        else:
            self._load()

    def _maybe_snapshot(self) -> None:
        pending = self._applied - self._snapshot_seq
        if pending >= max(self._min_snapshot_rows, len(self) // 4):
            self.flush()

    def _save_snapshot(self) -> None:
        if self._graph is None or self._applied == self._snapshot_seq:
            return
        seq = self._applied
        tmp = self.directory / f"{GRAPH}.tmp"
        self._graph.save(str(tmp))
        os.replace(tmp, self.directory / GRAPH)
        self._snapshot_seq = seq
        self._write_manifest()
        self._journal.prune(seq)

    def _read_manifest(self) -> dict[str, Any] | None:
        path = self.directory / MANIFEST
        if not path.exists():
            return None
        data: dict[str, Any] = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise InvalidInput(f"unsupported vector index format in {path}")
        return data

    def _write_manifest(self) -> None:
        data = {
            "format": FORMAT,
            "name": self.name,
            "encoder": self._encoder,
            "dim": self._dim,
            "metric": "cos",
            "params": self._params,
            "snapshot_seq": self._snapshot_seq,
        }
        tmp = self.directory / f"{MANIFEST}.tmp"
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, self.directory / MANIFEST)
