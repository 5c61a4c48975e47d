"""Served lists in the TTL cache, each hit re-checked against the in-process catalog gate.

A hit is served only if every item may still be served (a ban, a sell-out,
a purchase or an opt-out since it was cached makes it a miss, recomputed in
full: ``agora.recommend.gate``). An empty list (nothing eligible: a catalog
still in processing, a category out of stock) is kept for seconds, not the
TTL: what becomes eligible shows soon, and a stream of requests for it is
still not a stream of model scoring.

Example:
    >>> lists = ServedListCache(cache, gate)  # doctest: +SKIP
    >>> lists.store(list_key("u1", "smart", None, 10), recs)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from agora.recommend.base import Recommendations, ScoredItem
from agora.recommend.cache import ListCache, MemoryTtlCache
from agora.recommend.gate import CatalogGate

# Seconds an empty list stays cached (a full one: recommend.cache_ttl_s).
EMPTY_LIST_TTL_S = 5.0


def list_key(user_id: str, algorithm: str, category: str | None, n: int) -> str:
    """The cache key of one request's list."""
    return f"{user_id}|{algorithm}|{category or ''}|{n}"


class ServedListCache:
    """The lists cache (``recommend.cache_*``) and the catalog gate its hits pass."""

    def __init__(self, cache: ListCache, gate: CatalogGate) -> None:
        self.cache = cache
        self.gate = gate

    def answerable_now(self) -> bool:
        """Whether a hit needs no I/O: the in-process cache and a fresh gate."""
        return isinstance(self.cache, MemoryTtlCache) and self.gate.fresh()

    def hit(self, key: str, user_id: str, category: str | None) -> Recommendations | None:
        """The cached list under ``key`` if every item may still be served, else None."""
        hit = self.cache.get(key)
        return None if hit is None else self._recheck(hit, user_id, category)

    def store(self, key: str, recs: Recommendations) -> None:
        """Cache ``recs`` for the cache's TTL (an empty list: ``EMPTY_LIST_TTL_S``)."""
        self.cache.set(key, recs.to_dict(), ttl_s=None if recs.items else EMPTY_LIST_TTL_S)

    def clear(self) -> None:
        self.cache.clear()

    def _recheck(
        self, hit: dict[str, Any], user_id: str, category: str | None
    ) -> Recommendations | None:
        raw = hit["items"]
        if hit["personalized"] and not self.gate.personalises(user_id):
            return None  # opted out since: recompute, non-personal
        ok = self.gate.admit([i["asset_id"] for i in raw], user_id=user_id, category=category)
        if len(ok) < len(raw):
            return None
        return Recommendations(
            user_id=hit["user_id"],
            items=[ScoredItem(i["asset_id"], i["score"], i["source"]) for i in raw],
            algorithm=hit["algorithm"],
            model=hit["model"],
            fallback=hit["fallback"],
            fallback_reason=hit["fallback_reason"],
            personalized=hit["personalized"],
            cached=True,
            requested_algorithm=hit["requested_algorithm"],
            segment=hit["segment"],
        )
