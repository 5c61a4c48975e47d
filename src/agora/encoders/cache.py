"""LRU cache of query embeddings, keyed by encoder key and text.

Search traffic repeats itself (popular queries, pagination, typing-ahead), and a
query embedding costs 5-100 ms; a hit costs a dict lookup. The key includes the
encoder key so two profiles never share an entry.

Example:
    >>> import numpy as np
    >>> cache = QueryCache(max_entries=2)
    >>> cache.put("minilm@x", "red car", np.ones(3, dtype=np.float32))
    >>> cache.get("minilm@x", "red car").tolist()
    [1.0, 1.0, 1.0]
    >>> cache.get("e5@y", "red car") is None
    True
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np


class QueryCache:
    """Thread-safe bounded LRU map ``(encoder_key, text) -> vector`` (read-only arrays)."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, encoder_key: str, text: str) -> np.ndarray | None:
        with self._lock:
            vec = self._data.get((encoder_key, text))
            if vec is None:
                self.misses += 1
                return None
            self._data.move_to_end((encoder_key, text))
            self.hits += 1
            return vec

    def put(self, encoder_key: str, text: str, vector: np.ndarray) -> None:
        if self.max_entries <= 0:
            return
        vec = np.array(vector, dtype=np.float32, copy=True)
        vec.flags.writeable = False  # shared between callers: nobody may mutate it
        with self._lock:
            self._data[(encoder_key, text)] = vec
            self._data.move_to_end((encoder_key, text))
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
