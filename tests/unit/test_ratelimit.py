"""Per-key token bucket and daily quota, in-process backend."""

from __future__ import annotations

import threading
import time

import pytest

from agora.config import Settings
from agora.errors import RateLimited
from agora.ops.metrics import RATE_LIMITED
from agora.security.keys import Principal
from agora.security.ratelimit import (
    MemoryRateLimiter,
    RedisRateLimiter,
    create_rate_limiter,
    split_prefix,
)
from agora.testing.ratelimit_contract import RateLimiterContract


class TestMemoryRateLimiter(RateLimiterContract):
    @pytest.fixture
    def make_limiter(self):
        def make(default_per_minute: int = 60, burst: int = 10) -> MemoryRateLimiter:
            return MemoryRateLimiter(default_per_minute=default_per_minute, burst=burst)

        return make


def test_refill_over_time_lets_requests_through_again() -> None:
    # 600/min = 10 tokens a second; after 0.25 s at least two tokens are back.
    limiter = MemoryRateLimiter(default_per_minute=600, burst=2)
    p = Principal("refill", frozenset({"read"}))
    limiter.check(p)
    limiter.check(p)
    with pytest.raises(RateLimited):
        limiter.check(p)
    time.sleep(0.25)
    limiter.check(p)
    limiter.check(p)


def test_thread_safe_exact_count_under_concurrency() -> None:
    # A huge bucket, so only the quota refuses: 200 attempts, exactly 50 pass.
    p = Principal("threads", frozenset({"read"}), rate_limit_per_minute=10**9, quota_per_day=50)
    limiter = MemoryRateLimiter(default_per_minute=60, burst=10**9)
    allowed = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            try:
                limiter.check(p)
            except RateLimited:
                continue
            with lock:
                allowed.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(allowed) == 50  # exactly the quota, no lost updates


def test_refusals_are_counted_in_prometheus() -> None:
    limiter = MemoryRateLimiter(default_per_minute=60, burst=1)
    p = Principal("metric", frozenset({"read"}))
    before = RATE_LIMITED._value.get()
    limiter.check(p)
    with pytest.raises(RateLimited):
        limiter.check(p)
    assert RATE_LIMITED._value.get() == before + 1


def test_factory_picks_memory_for_embedded_and_redis_for_redis_bus(tmp_path) -> None:
    assert isinstance(create_rate_limiter(Settings(data_dir=tmp_path)), MemoryRateLimiter)
    settings = Settings(data_dir=tmp_path, bus={"url": "redis://127.0.0.1:6379/0?prefix=x1"})
    limiter = create_rate_limiter(settings)
    try:
        assert isinstance(limiter, RedisRateLimiter)
        assert limiter.prefix == "x1"
    finally:
        limiter.close()


def test_split_prefix_keeps_other_query_parameters() -> None:
    assert split_prefix("redis://h:1/2?prefix=p&ssl_cert_reqs=none", "d") == (
        "redis://h:1/2?ssl_cert_reqs=none",
        "p",
    )
    assert split_prefix("redis://h:1/2", "d") == ("redis://h:1/2", "d")
