"""The rate limiter contract against the real Redis, plus sharing across processes."""

from __future__ import annotations

import multiprocessing
import uuid

import pytest
import redis

from agora.errors import RateLimited
from agora.security.keys import Principal
from agora.security.ratelimit import RedisRateLimiter, split_prefix
from agora.testing.ratelimit_contract import RateLimiterContract

pytestmark = pytest.mark.integration


class TestRedisRateLimiter(RateLimiterContract):
    @pytest.fixture
    def make_limiter(self, redis_url):
        made: list[RedisRateLimiter] = []

        def make(default_per_minute: int = 60, burst: int = 10) -> RedisRateLimiter:
            limiter = RedisRateLimiter(
                redis_url, default_per_minute=default_per_minute, burst=burst
            )
            made.append(limiter)
            return limiter

        yield make
        for limiter in made:
            limiter.close()


def test_keys_live_under_the_url_prefix(redis_url: str) -> None:
    limiter = RedisRateLimiter(redis_url, default_per_minute=60, burst=5)
    p = Principal("pfx" + uuid.uuid4().hex[:6], frozenset({"read"}), quota_per_day=10)
    limiter.check(p)
    clean, prefix = split_prefix(redis_url, "agora")
    client = redis.Redis.from_url(clean)
    try:
        keys = {k.decode() for k in client.scan_iter(f"{prefix}:ratelimit:{p.key_id}:*")}
        assert f"{prefix}:ratelimit:{p.key_id}:bucket" in keys
        assert any(":quota:" in k for k in keys)
        assert all(client.ttl(k) > 0 for k in keys)  # nothing lives forever
    finally:
        client.close()
        limiter.close()


def _hammer(url: str, key_id: str, n: int, out: multiprocessing.Queue) -> None:
    limiter = RedisRateLimiter(url, default_per_minute=60, burst=1000)
    p = Principal(key_id, frozenset({"read"}), quota_per_day=40)
    ok = 0
    for _ in range(n):
        try:
            limiter.check(p)
            ok += 1
        except RateLimited:
            pass
    limiter.close()
    out.put(ok)


def test_quota_is_shared_by_several_processes(redis_url: str) -> None:
    key_id = "mp" + uuid.uuid4().hex[:8]
    ctx = multiprocessing.get_context("fork")
    out: multiprocessing.Queue = ctx.Queue()
    procs = [ctx.Process(target=_hammer, args=(redis_url, key_id, 30, out)) for _ in range(3)]
    for proc in procs:
        proc.start()
    total = sum(out.get(timeout=60) for _ in procs)
    for proc in procs:
        proc.join(timeout=30)
    assert total == 40  # 90 attempts from 3 processes, one shared quota of 40


def test_unreachable_redis_fails_open() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", default_per_minute=60, burst=1)
    p = Principal("down", frozenset({"read"}))
    limiter.check(p)
    limiter.check(p)  # would be refused if Redis answered; the platform stays up
    limiter.close()
