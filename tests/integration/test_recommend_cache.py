"""The recommendation list cache on both backends: in-process and real Redis."""

from __future__ import annotations

import time

import pytest

from agora.recommend.cache import MemoryTtlCache, create_cache


def test_memory_cache_expires_and_evicts() -> None:
    cache = MemoryTtlCache(ttl_s=0.05, max_entries=2)
    cache.set("a", {"v": 1})
    cache.set("b", {"v": 2})
    cache.set("c", {"v": 3})
    assert cache.get("a") is None  # evicted (oldest)
    assert cache.get("c") == {"v": 3}
    time.sleep(0.06)
    assert cache.get("c") is None  # expired


@pytest.mark.integration
def test_redis_cache_roundtrip_and_clear(redis_url: str) -> None:
    cache = create_cache(redis_url, ttl_s=60)
    cache.set("u1|smart||10", {"items": [{"asset_id": "a1"}], "model": "reco-ease@1"})
    assert cache.get("u1|smart||10") == {"items": [{"asset_id": "a1"}], "model": "reco-ease@1"}
    assert cache.get("missing") is None
    cache.clear()
    assert cache.get("u1|smart||10") is None


def test_memory_cache_entry_ttl_overrides_the_default() -> None:
    cache = MemoryTtlCache(ttl_s=60)
    cache.set("short", {"items": []}, ttl_s=0.05)
    cache.set("long", {"items": [1]})
    time.sleep(0.06)
    assert cache.get("short") is None and cache.get("long") == {"items": [1]}


@pytest.mark.integration
def test_redis_cache_entry_ttl_overrides_the_default(redis_url: str) -> None:
    cache = create_cache(redis_url, ttl_s=60)
    cache.set("u2|smart||10", {"items": []}, ttl_s=1)
    cache.set("u3|smart||10", {"items": [1]})
    client = cache._client  # type: ignore[attr-defined]
    prefix = cache.prefix  # type: ignore[attr-defined]
    assert 0 < client.ttl(prefix + "u2|smart||10") <= 1
    assert 1 < client.ttl(prefix + "u3|smart||10") <= 60
    cache.clear()
