"""TTL cache for served lists: in-process by default, Redis when ``recommend.cache_url`` is set.

Values are JSON-ready dicts. The in-process cache is bounded (oldest entries
evicted first); Redis entries expire by ``SETEX``.

Example:
    >>> cache = MemoryTtlCache(ttl_s=60)
    >>> cache.set("k", {"a": 1})
    >>> cache.get("k")
    {'a': 1}
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

import orjson


class ListCache(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...

    def set(self, key: str, value: dict[str, Any], ttl_s: float | None = None) -> None:
        """Store ``value`` for ``ttl_s`` seconds (None: the cache's TTL)."""
        ...

    def clear(self) -> None: ...


class MemoryTtlCache:
    """Thread-safe LRU with a per-entry deadline."""

    def __init__(self, ttl_s: float, max_entries: int = 100_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._data: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return entry[1]

    def set(self, key: str, value: dict[str, Any], ttl_s: float | None = None) -> None:
        with self._lock:
            self._data[key] = (time.monotonic() + (self.ttl_s if ttl_s is None else ttl_s), value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class RedisTtlCache:
    """Shared across API replicas; ``?prefix=`` in the URL namespaces the keys."""

    def __init__(self, url: str, ttl_s: float) -> None:
        import redis

        query = parse_qs(urlparse(url).query)
        self.prefix = (query.get("prefix", ["agora"])[0]) + ":reco:"
        self.ttl_s = max(1, int(ttl_s))
        self._client = redis.Redis.from_url(url.split("?", 1)[0])

    def get(self, key: str) -> dict[str, Any] | None:
        raw = self._client.get(self.prefix + key)
        return None if raw is None else orjson.loads(raw)

    def set(self, key: str, value: dict[str, Any], ttl_s: float | None = None) -> None:
        ttl = self.ttl_s if ttl_s is None else max(1, int(ttl_s))
        self._client.setex(self.prefix + key, ttl, orjson.dumps(value))

    def clear(self) -> None:
        for k in self._client.scan_iter(self.prefix + "*"):
            self._client.delete(k)


def create_cache(url: str, ttl_s: float) -> ListCache:
    """``""`` -> in-process; ``redis://...`` -> Redis."""
    if url.startswith(("redis://", "rediss://")):
        return RedisTtlCache(url, ttl_s)
    return MemoryTtlCache(ttl_s)
