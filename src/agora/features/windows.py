"""Sliding-window counters in numpy: one bucket ring per (entity row, window).

Each window is a ring of ``slots`` buckets of ``width`` seconds (5 min = 10 x 30 s,
1 h = 12 x 5 min, 24 h = 24 x 1 h): a count "in the last hour" is exact to one bucket,
the usual trade of stream processors (Flink's slide); 46 buckets x 5 counters in
float32 keep an entity at under 1 KiB, so 100k assets take ~90 MiB. A slot remembers which
bucket epoch it holds; an event for a newer epoch clears the slot first, an event
older than the ring is dropped. All updates are vectorised over a batch of events.

Example:
    >>> w = WindowCounters(n_counters=1)
    >>> rows = w.rows(["a1", "a1", "a2"])
    >>> w.add(rows, np.array([100.0, 110.0, 120.0]), np.array([0, 0, 0]))
    >>> w.totals(w.rows(["a1"]), now=130.0)["5m"][:, 0].tolist()
    [2.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# (name, window seconds, bucket width seconds)
RINGS: tuple[tuple[str, int, int], ...] = (("5m", 300, 30), ("1h", 3600, 300), ("24h", 86400, 3600))


class WindowCounters:
    """Counts of ``n_counters`` event kinds per entity over the windows in ``RINGS``."""

    def __init__(self, n_counters: int, capacity: int = 1024) -> None:
        self.n = n_counters
        self.index: dict[str, int] = {}
        self.ids: list[str] = []
        self._cap = capacity
        self.counts = {
            name: np.zeros((capacity, win // width, n_counters), np.float32)
            for name, win, width in RINGS
        }
        self.epochs = {
            name: np.full((capacity, win // width), -1, np.int32) for name, win, width in RINGS
        }

    def rows(self, ids: Sequence[str]) -> np.ndarray:
        """Row of each id, adding unseen ids."""
        index = self.index
        for i in ids:
            if i not in index:
                index[i] = len(self.ids)
                self.ids.append(i)
        if len(self.ids) > self._cap:
            self._grow(max(2 * self._cap, len(self.ids)))
        return np.fromiter((index[i] for i in ids), np.int64, len(ids))

    def _grow(self, cap: int) -> None:
        for name in self.counts:
            c, e = self.counts[name], self.epochs[name]
            nc = np.zeros((cap, *c.shape[1:]), c.dtype)
            ne = np.full((cap, e.shape[1]), -1, e.dtype)
            nc[: len(c)], ne[: len(e)] = c, e
            self.counts[name], self.epochs[name] = nc, ne
        self._cap = cap

    def add(self, rows: np.ndarray, ts: np.ndarray, counter: np.ndarray) -> None:
        """Count one event of kind ``counter[i]`` at ``ts[i]`` for ``rows[i]``."""
        for name, win, width in RINGS:
            slots = win // width
            epoch = np.floor(ts / width).astype(np.int32)
            slot = epoch % slots
            stored = self.epochs[name].reshape(-1)  # views: writes go to the rings
            counts = self.counts[name].reshape(-1, self.n)
            key = rows * slots + slot
            uniq, inv = np.unique(key, return_inverse=True)
            newest = np.full(len(uniq), -1, np.int32)
            np.maximum.at(newest, inv, epoch)
            moved = newest > stored[uniq]
            counts[uniq[moved]] = 0.0  # the slot now holds a newer bucket
            stored[uniq[moved]] = newest[moved]
            keep = epoch == stored[key]
            np.add.at(counts, (key[keep], counter[keep]), 1.0)

    def totals(self, rows: np.ndarray, now: float) -> dict[str, np.ndarray]:
        """Per window: ``len(rows) x n_counters`` counts of buckets inside it at ``now``."""
        out = {}
        for name, win, width in RINGS:
            slots = win // width
            current = int(now // width)
            live = self.epochs[name][rows] > current - slots  # (rows, slots)
            out[name] = np.einsum("rs,rsc->rc", live, self.counts[name][rows]).astype(np.float64)
        return out

    def active_rows(self, now: float) -> np.ndarray:
        """Rows with any bucket still inside the longest window."""
        name, win, width = RINGS[-1]
        live = (self.epochs[name][: len(self.ids)] > int(now // width) - win // width).any(axis=1)
        return np.flatnonzero(live)
