"""Multi-index hashing (Norouzi, Punjani and Fleet, CVPR 2012) for Hamming search.

A 64-bit code is cut into ``m`` 16-bit chunks, each indexed in its own hash
table. By the pigeonhole principle two codes within distance ``r`` agree to
within ``r // m`` bits on at least one chunk, so a query probes each table
with its chunk and the chunk's neighbours within ``r // m`` bits and checks
only the codes found there: sub-linear in the number of indexed codes, where a
BK-tree degrades to a scan of most of the tree once ``r`` reaches ~10 bits.

Rows are keyed by a string (``asset#n``); ``add`` with a known key replaces
its code. The state is two arrays, so it saves to and loads from one ``.npz``
and is rebuilt from the catalog's recorded fingerprints when lost.

Example:
    >>> import numpy as np
    >>> index = MultiIndexHash()
    >>> index.add(["a#0", "b#0"], np.array([0, 2**64 - 1], dtype=np.uint64))
    >>> index.search(np.array([0b111], dtype=np.uint64), radius=4)
    {'a#0': (3, 0)}
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import combinations
from pathlib import Path

import numpy as np

from agora.quality.duplicates.hashing import hamming

CHUNK_BITS = 16
CHUNKS = 4  # 64-bit codes
_MASK = (1 << CHUNK_BITS) - 1


def _neighbour_masks(bits: int) -> list[int]:
    """Every 16-bit mask with at most ``bits`` ones (XOR them in to probe neighbours)."""
    out = [0]
    for k in range(1, bits + 1):
        out += [sum(1 << i for i in combo) for combo in combinations(range(CHUNK_BITS), k)]
    return out


class MultiIndexHash:
    """Exact Hamming range search over 64-bit codes keyed by string ids."""

    def __init__(self) -> None:
        self._tables: list[dict[int, list[int]]] = [{} for _ in range(CHUNKS)]
        self._codes: list[int] = []
        self._keys: list[str] = []
        self._alive: list[bool] = []
        self._row_of: dict[str, int] = {}
        self._masks: dict[int, list[int]] = {}

    def __len__(self) -> int:
        return len(self._row_of)

    def __contains__(self, key: object) -> bool:
        return key in self._row_of

    def add(self, keys: Sequence[str], codes: np.ndarray) -> None:
        """Index ``codes[i]`` under ``keys[i]`` (replacing an earlier code of that key)."""
        self.remove([k for k in keys if k in self._row_of])
        for key, code in zip(keys, np.asarray(codes, dtype=np.uint64).tolist(), strict=True):
            row = len(self._codes)
            self._codes.append(int(code))
            self._keys.append(key)
            self._alive.append(True)
            self._row_of[key] = row
            for c, table in enumerate(self._tables):
                table.setdefault((int(code) >> (CHUNK_BITS * c)) & _MASK, []).append(row)

    def remove(self, keys: Iterable[str]) -> None:
        """Forget keys (unknown ones are ignored); their rows become tombstones."""
        for key in keys:
            row = self._row_of.pop(key, None)
            if row is not None:
                self._alive[row] = False

    def keys(self) -> list[str]:
        return list(self._row_of)

    def code(self, key: str) -> int | None:
        row = self._row_of.get(key)
        return None if row is None else self._codes[row]

    def search(self, queries: np.ndarray, radius: int) -> dict[str, tuple[int, int]]:
        """Indexed keys within ``radius`` bits of any query code: key -> (distance,
        index of the closest query code)."""
        per_chunk = radius // CHUNKS
        masks = self._masks.setdefault(per_chunk, _neighbour_masks(per_chunk))
        rows: set[int] = set()
        qs = [int(q) for q in np.asarray(queries, dtype=np.uint64).tolist()]
        for q in qs:
            for c, table in enumerate(self._tables):
                chunk = (q >> (CHUNK_BITS * c)) & _MASK
                for mask in masks:
                    hit = table.get(chunk ^ mask)
                    if hit:
                        rows.update(hit)
        live = [r for r in rows if self._alive[r]]
        if not live:
            return {}
        codes = np.array([self._codes[r] for r in live], dtype=np.uint64)
        dist = hamming(codes[:, None], np.array(qs, dtype=np.uint64)[None, :])
        best = dist.argmin(axis=1)
        out: dict[str, tuple[int, int]] = {}
        for r, b, row in zip(live, best.tolist(), dist, strict=True):
            if row[b] <= radius:
                out[self._keys[r]] = (int(row[b]), int(b))
        return out

    def save(self, path: Path) -> None:
        """Write the live codes to ``path`` (``.npz``)."""
        keys = list(self._row_of)
        codes = np.array([self._codes[self._row_of[k]] for k in keys], dtype=np.uint64)
        np.savez(path, keys=np.array(keys, dtype=str), codes=codes)

    @classmethod
    def load(cls, path: Path) -> MultiIndexHash:
        """An index with the codes ``save`` wrote."""
        index = cls()
        with np.load(path, allow_pickle=False) as data:
            index.add([str(k) for k in data["keys"]], data["codes"])
        return index
