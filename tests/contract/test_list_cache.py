"""The ListCache contract (served recommendation lists) on both backends: the
in-process TTL cache and real Redis.

Expiry is checked by waiting for the entry to go (a condition, with a generous
deadline), never by sleeping a guessed time; Redis TTLs are whole seconds.
"""

from __future__ import annotations

import uuid

import pytest

from agora.recommend.cache import ListCache, MemoryTtlCache, RedisTtlCache, create_cache
from agora.testing.wait import wait_until

LONG_TTL_S = 3600.0  # nothing expires during a test, however slow the machine


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.integration)])
def cache_url(request: pytest.FixtureRequest) -> str:
    return "" if request.param == "memory" else request.getfixturevalue("redis_url")


@pytest.fixture
def cache(cache_url: str) -> ListCache:
    return create_cache(cache_url, ttl_s=LONG_TTL_S)


def test_factory_picks_the_backend_by_url(cache_url: str, cache: ListCache) -> None:
    assert isinstance(cache, RedisTtlCache if cache_url else MemoryTtlCache)


def test_missing_keys_read_as_none(cache: ListCache) -> None:
    assert cache.get("nobody|smart||10") is None


def test_json_values_round_trip_and_are_overwritten(cache: ListCache) -> None:
    value = {
        "items": [{"asset_id": "a1", "score": 0.25}, {"asset_id": "ä2", "score": -1.5}],
        "model": "reco-ease@3",
        "fallbacks": [],
        "cached_at": None,
        "nested": {"n": 1, "ok": True},
    }
    cache.set("u1|smart||10", value)
    assert cache.get("u1|smart||10") == value
    cache.set("u1|smart||10", {"items": []})
    assert cache.get("u1|smart||10") == {"items": []}


def test_keys_are_independent(cache: ListCache) -> None:
    cache.set("u1|a||5", {"v": 1})
    cache.set("u1|a||10", {"v": 2})
    assert (cache.get("u1|a||5"), cache.get("u1|a||10")) == ({"v": 1}, {"v": 2})


@pytest.mark.process  # waits for a real (whole-second, on Redis) TTL to pass
def test_an_entry_ttl_overrides_the_default(cache: ListCache) -> None:
    cache.set("short", {"items": []}, ttl_s=1)
    cache.set("long", {"items": [1]})
    wait_until(lambda: cache.get("short") is None, timeout_s=60, what="the short entry to expire")
    assert cache.get("long") == {"items": [1]}


def test_clear_empties_this_cache_only(cache_url: str, cache: ListCache) -> None:
    cache.set("a", {"v": 1})
    cache.set("b", {"v": 2})
    neighbour = None
    if cache_url:  # another deployment on the same Redis, under its own prefix
        base = cache_url.split("?", 1)[0]
        neighbour = create_cache(f"{base}?prefix=agora-t-{uuid.uuid4().hex[:10]}", LONG_TTL_S)
        neighbour.set("a", {"v": "theirs"})
    cache.clear()
    assert cache.get("a") is None and cache.get("b") is None
    if neighbour is not None:
        assert neighbour.get("a") == {"v": "theirs"}
        neighbour.clear()


def test_two_handles_on_one_url(cache_url: str, cache: ListCache) -> None:
    """Redis is shared by API replicas; the in-process cache is private to its process."""
    cache.set("shared?", {"v": 1})
    other = create_cache(cache_url, ttl_s=LONG_TTL_S)
    assert other.get("shared?") == ({"v": 1} if cache_url else None)
