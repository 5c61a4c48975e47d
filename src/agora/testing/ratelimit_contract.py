"""Contract every ``RateLimiter`` backend passes (in-process and Redis alike).

Subclass it in a test module and provide a ``make_limiter`` fixture returning a
factory ``(default_per_minute=60, burst=10) -> RateLimiter``.

Example:
    >>> class TestMine(RateLimiterContract):  # doctest: +SKIP
    ...     @pytest.fixture
    ...     def make_limiter(self):
    ...         return lambda default_per_minute=60, burst=10: MyLimiter(...)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest

from agora.errors import RateLimited
from agora.security.keys import Principal
from agora.security.ratelimit import RateLimiter

MakeLimiter = Callable[..., RateLimiter]


def _key(rate: int | None = None, quota: int | None = None) -> Principal:
    # Unique ids: backends may share state (Redis) between tests.
    return Principal(uuid.uuid4().hex[:12], frozenset({"read"}), rate, quota)


class RateLimiterContract:
    """Behaviour shared by every rate limiter backend."""

    def test_burst_passes_then_refuses_with_retry_after(self, make_limiter: MakeLimiter) -> None:
        limiter = make_limiter(default_per_minute=60, burst=3)
        p = _key()
        for _ in range(3):
            limiter.check(p)
        with pytest.raises(RateLimited) as err:
            limiter.check(p)
        assert err.value.status == 429
        # 60/min = one token a second: the next one is due within a second.
        assert 0 < err.value.extra["retry_after"] <= 1.0
        assert err.value.extra["window"] == "minute"
        assert "60 requests per minute" in err.value.detail

    def test_key_rate_overrides_default_and_caps_burst(self, make_limiter: MakeLimiter) -> None:
        limiter = make_limiter(default_per_minute=6000, burst=1000)
        p = _key(rate=2)
        limiter.check(p)
        limiter.check(p)
        with pytest.raises(RateLimited) as err:
            limiter.check(p)
        assert err.value.extra["limit"] == 2
        assert 0 < err.value.extra["retry_after"] <= 30.0  # one token per 30 s

    def test_keys_are_limited_independently(self, make_limiter: MakeLimiter) -> None:
        limiter = make_limiter(default_per_minute=60, burst=1)
        a, b = _key(), _key()
        limiter.check(a)
        with pytest.raises(RateLimited):
            limiter.check(a)
        limiter.check(b)

    def test_daily_quota_refuses_until_midnight(self, make_limiter: MakeLimiter) -> None:
        limiter = make_limiter(default_per_minute=60_000, burst=1000)
        p = _key(quota=3)
        for _ in range(3):
            limiter.check(p)
        with pytest.raises(RateLimited) as err:
            limiter.check(p)
        assert err.value.extra["window"] == "day"
        assert err.value.extra["limit"] == 3
        assert 0 < err.value.extra["retry_after"] <= 86_401
        assert "quota" in err.value.detail

    def test_refused_requests_do_not_use_quota(self, make_limiter: MakeLimiter) -> None:
        # Bucket of 1 at 60/min: the second call is refused by rate, not counted,
        # so after the refill the quota of 2 still has room.
        limiter = make_limiter(default_per_minute=60, burst=1)
        p = _key(quota=2)
        limiter.check(p)
        for _ in range(5):
            with pytest.raises(RateLimited) as err:
                limiter.check(p)
            assert err.value.extra["window"] == "minute"
        time.sleep(err.value.extra["retry_after"] + 0.05)
        limiter.check(p)
        with pytest.raises(RateLimited) as err:
            limiter.check(p)
        assert err.value.extra["window"] == "day"
