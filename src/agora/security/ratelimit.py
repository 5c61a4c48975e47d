"""Per-key rate limits (token bucket) and daily quotas.

Each API key gets a bucket of ``capacity`` tokens refilled at
``rate_limit_per_minute / 60`` tokens a second; a request takes one token.
The rate is the key's own ``rate_limit_per_minute`` or the settings' default;
the capacity (burst) is ``security.rate_limit_burst``, never more than one
minute of the key's rate, so a key limited to 10/min cannot fire 1000 at once.
A key with ``quota_per_day`` is also refused once it has made that many
requests in the current UTC day. A refused request raises
``agora.errors.RateLimited`` with ``retry_after`` (seconds), which the API
answers as 429 problem+json with a ``Retry-After`` header.

Two backends, one interface (``create_rate_limiter`` picks by settings):

* ``MemoryRateLimiter``: in-process and thread-safe. With several API worker
  processes (``server.workers > 1``) each process keeps its own buckets, so a
  key effectively gets ``workers x`` its limit. Configure a Redis URL for the
  bus (``AGORA_BUS__URL=redis://...``) to share limits across processes.
* ``RedisRateLimiter``: one atomic Lua script per request, shared by every
  process and replica, timed by the Redis server's clock. If Redis cannot be
  reached the request is let through (fail open: the limiter protects the
  platform, it must not take it down) and ``agora_fallbacks_total`` counts it.

Example:
    >>> limiter = MemoryRateLimiter(default_per_minute=60, burst=2)
    >>> p = Principal("k1", frozenset({"read"}))
    >>> limiter.check(p); limiter.check(p)
    >>> limiter.check(p)
    Traceback (most recent call last):
    ...
    agora.errors.RateLimited: rate limit exceeded for key k1: 60 requests per minute
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from agora.config import Settings
from agora.errors import RateLimited
from agora.ops.metrics import FALLBACKS, RATE_LIMITED
from agora.security.keys import Principal

log = logging.getLogger(__name__)
DAY_S = 86_400


@dataclass(frozen=True)
class Decision:
    """Outcome of one token take: ``reason`` is ``rate`` or ``quota`` when refused."""

    allowed: bool
    retry_after: float = 0.0
    reason: str = ""


def _seconds_to_utc_midnight(now: float) -> float:
    return DAY_S - (now % DAY_S)


def utc_day(now: float) -> str:
    """The UTC calendar day a quota counter belongs to, e.g. ``2024-05-01``."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


class RateLimiter(ABC):
    """Checks a principal's rate limit and quota; raises ``RateLimited`` when over."""

    def __init__(self, *, default_per_minute: int, burst: int) -> None:
        self.default_per_minute = default_per_minute
        self.burst = burst

    def limits_for(self, principal: Principal) -> tuple[float, float, int | None]:
        """(tokens per second, bucket capacity, quota per day) for a principal."""
        per_minute = principal.rate_limit_per_minute or self.default_per_minute
        capacity = float(max(1, min(self.burst, per_minute))) if per_minute > 0 else 0.0
        quota = principal.quota_per_day if principal.quota_per_day else None
        return per_minute / 60.0, capacity, quota

    def check(self, principal: Principal) -> None:
        """Take one token for ``principal`` or raise ``RateLimited``."""
        rate, capacity, quota = self.limits_for(principal)
        if rate <= 0 and quota is None:
            return  # rate limiting disabled (rate_limit_per_minute = 0) and no quota
        decision = self.take(principal.key_id, rate, capacity, quota)
        if decision.allowed:
            return
        RATE_LIMITED.inc()
        if decision.reason == "quota":
            raise RateLimited(
                f"daily quota exhausted for key {principal.key_id}: {quota} requests per day",
                retry_after=round(decision.retry_after, 3),
                limit=quota,
                window="day",
            )
        per_minute = round(rate * 60)
        raise RateLimited(
            f"rate limit exceeded for key {principal.key_id}: {per_minute} requests per minute",
            retry_after=round(decision.retry_after, 3),
            limit=per_minute,
            window="minute",
        )

    @abstractmethod
    def take(self, key_id: str, rate: float, capacity: float, quota: int | None) -> Decision:
        """Atomically check the quota, then take one token; count the request
        against the quota only when it is allowed. ``rate`` <= 0 means no rate limit."""

    def close(self) -> None:  # noqa: B027 - optional override
        """Release connections."""


class MemoryRateLimiter(RateLimiter):
    """Buckets in this process's memory (per process: see the module docstring)."""

    def __init__(self, *, default_per_minute: int, burst: int) -> None:
        super().__init__(default_per_minute=default_per_minute, burst=burst)
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, monotonic ts)
        self._quota: dict[str, tuple[str, int]] = {}  # key -> (utc day, count)

    def take(self, key_id: str, rate: float, capacity: float, quota: int | None) -> Decision:
        now_wall = time.time()
        now = time.monotonic()
        with self._lock:
            day = utc_day(now_wall)
            counted_day, used = self._quota.get(key_id, (day, 0))
            if counted_day != day:
                used = 0
            if quota is not None and used >= quota:
                return Decision(False, _seconds_to_utc_midnight(now_wall), "quota")
            if rate > 0:
                tokens, last = self._buckets.get(key_id, (capacity, now))
                tokens = min(capacity, tokens + (now - last) * rate)
                if tokens < 1.0:
                    self._buckets[key_id] = (tokens, now)
                    return Decision(False, (1.0 - tokens) / rate, "rate")
                self._buckets[key_id] = (tokens - 1.0, now)
            if quota is not None:
                self._quota[key_id] = (day, used + 1)
        return Decision(True)


# KEYS[1] bucket hash, KEYS[2] today's quota counter.
# ARGV: rate (tokens/s, <= 0: none), capacity, quota (-1: none), quota ttl seconds.
# Returns {allowed 0|1, reason, retry_after as a string (Lua numbers truncate)}.
_TAKE_SCRIPT = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local quota = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
if quota >= 0 then
  local used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if used >= quota then
    return {0, 'quota', ARGV[4]}
  end
end
if rate > 0 then
  local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
  local tokens = tonumber(b[1]) or capacity
  local ts = tonumber(b[2]) or now
  tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
  local ttl = math.ceil(capacity / rate) + 1
  if tokens < 1 then
    redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
    redis.call('EXPIRE', KEYS[1], ttl)
    return {0, 'rate', tostring((1 - tokens) / rate)}
  end
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'ts', tostring(now))
  redis.call('EXPIRE', KEYS[1], ttl)
end
if quota >= 0 then
  redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
return {1, '', '0'}
"""


def split_prefix(url: str, default: str) -> tuple[str, str]:
    """Remove Agora's ``prefix`` query parameter from a Redis URL.

    Example:
        >>> split_prefix("redis://h:6379/0?prefix=t1", "agora")
        ('redis://h:6379/0', 't1')
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "prefix" and v), default)
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


class RedisRateLimiter(RateLimiter):
    """Buckets in Redis, shared by every API process and replica."""

    def __init__(
        self, url: str, *, default_per_minute: int, burst: int, prefix: str = "agora"
    ) -> None:
        import redis

        super().__init__(default_per_minute=default_per_minute, burst=burst)
        clean_url, self.prefix = split_prefix(url, prefix)
        self._client = redis.Redis.from_url(
            clean_url, socket_timeout=1.0, socket_connect_timeout=1.0
        )
        self._script = self._client.register_script(_TAKE_SCRIPT)

    def take(self, key_id: str, rate: float, capacity: float, quota: int | None) -> Decision:
        import redis

        now = time.time()
        base = f"{self.prefix}:ratelimit:{key_id}"
        keys = [f"{base}:bucket", f"{base}:quota:{utc_day(now)}"]
        # The quota key lives until the end of its UTC day (+1 s for clock skew);
        # its remaining TTL is also the Retry-After of a refused request.
        ttl = int(_seconds_to_utc_midnight(now)) + 1
        try:
            allowed, reason, retry = self._script(
                keys=keys, args=[repr(rate), repr(capacity), -1 if quota is None else quota, ttl]
            )
        except redis.RedisError as exc:
            FALLBACKS.labels(kind="ratelimit_redis_down_allow").inc()
            log.warning(
                "rate limiter cannot reach Redis; allowing request",
                extra={"error": str(exc), "key_id": key_id},
            )
            return Decision(True)
        reason_s = reason.decode() if isinstance(reason, bytes) else str(reason)
        return Decision(bool(allowed), float(retry), reason_s)

    def close(self) -> None:
        self._client.close()


def create_rate_limiter(settings: Settings) -> RateLimiter:
    """Redis limiter when the bus is Redis (``redis://`` / ``rediss://``), else in-memory.

    Example:
        >>> create_rate_limiter(Settings(data_dir="/tmp/agora-doc")).__class__.__name__
        'MemoryRateLimiter'
    """
    sec = settings.security
    if settings.bus.url.startswith(("redis://", "rediss://")):
        return RedisRateLimiter(
            settings.bus.url,
            default_per_minute=sec.rate_limit_per_minute,
            burst=sec.rate_limit_burst,
            prefix=settings.bus.stream_prefix,
        )
    return MemoryRateLimiter(
        default_per_minute=sec.rate_limit_per_minute, burst=sec.rate_limit_burst
    )
