"""Redis Streams event bus: consumer groups, acks, reclaim of dead consumers' work.

Keys (all under the prefix, ``settings.stream_prefix`` or the URL's ``?prefix=``):

- ``<prefix>:<topic>``: the topic stream (``XADD ... MAXLEN ~ max_stream_length``);
  every group reads it from the beginning (``XGROUP CREATE ... 0``).
- ``<prefix>:<topic>:delayed:<group>``: a sorted set of retries, scored by due time.
  A nack with ``retry_in_s`` adds the event there and acks the original, so a
  retry for one group is never seen by the others.
- ``<prefix>:<topic>:retry:<group>``: the group's own stream that due retries are
  moved into (a Lua script, atomic) at consume time; reading it through the
  group gives retries the same pending-entry tracking as first deliveries.
  Acked retry entries are deleted.
- ``<prefix>:<topic>:dead``: the dead-letter stream, with the error and the group.

A delivery not acked within ``visibility_timeout_s`` is taken over by the next
consumer of the group with ``XAUTOCLAIM``; its attempt number comes from the
entry's delivery count in ``XPENDING``.

Example:
    >>> bus = RedisStreamsBus("redis://127.0.0.1:6379/0?prefix=doc", settings=BusSettings())
    ... # doctest: +SKIP
    >>> bus.publish(Event(topic="asset.uploaded", payload={"asset_id": "a1"}))  # doctest: +SKIP
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
import redis

from agora.bus.base import DeadLetter, Delivery, Event, EventBus
from agora.config import BusSettings
from agora.errors import InvalidInput
from agora.ops.metrics import EVENTS_PUBLISHED

# Move due retries from the delayed set into the group's retry stream; return
# the due time of the next one still waiting (or nil).
PROMOTE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'm', member)
  redis.call('ZREM', KEYS[1], member)
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return nxt[2]
"""

MAIN, RETRY = "s", "r"


def _split_url(url: str, default_prefix: str) -> tuple[str, str]:
    """Strip Agora's ``prefix`` query parameter; redis-py rejects unknown ones."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    prefix = next((v for k, v in query if k == "prefix"), default_prefix)
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


def _encode(event: Event) -> dict[str, bytes | str]:
    return {
        "id": event.id,
        "key": event.key or "",
        "payload": orjson.dumps(event.payload),
        "created_at": repr(event.created_at),
    }


def _decode(topic: str, fields: dict[bytes, bytes]) -> Event:
    return Event(
        topic=topic,
        payload=orjson.loads(fields[b"payload"]),
        id=fields[b"id"].decode(),
        key=fields[b"key"].decode() or None,
        created_at=float(fields[b"created_at"]),
    )


class RedisStreamsBus(EventBus):
    """Event bus on Redis Streams consumer groups (see the module docstring)."""

    def __init__(
        self, url: str, *, settings: BusSettings | None = None, data_dir: Path | None = None
    ) -> None:
        self.settings = settings or BusSettings()
        redis_url, self.prefix = _split_url(url, self.settings.stream_prefix)
        if not self.prefix:
            raise InvalidInput("Redis bus prefix must not be empty")
        # Replies are raw bytes (no decode_responses: payloads go straight to
        # orjson). Typed Any: redis-py's stubs union the sync and async replies.
        self.client: Any = redis.Redis.from_url(redis_url)
        self._promote = self.client.register_script(PROMOTE_DUE)
        self._groups: set[tuple[str, str]] = set()

    # -- keys --------------------------------------------------------------

    def stream_key(self, topic: str) -> str:
        """The topic stream's key."""
        if not topic or ":" in topic:
            raise InvalidInput(f"invalid topic name {topic!r} (non-empty, no ':')")
        return f"{self.prefix}:{topic}"

    def _keys(self, topic: str, group: str) -> tuple[str, str, str]:
        main = self.stream_key(topic)
        return main, f"{main}:retry:{group}", f"{main}:delayed:{group}"

    def _ensure_group(self, topic: str, group: str) -> None:
        if (topic, group) in self._groups:
            return
        main, retry, _ = self._keys(topic, group)
        for key in (main, retry):
            try:
                self.client.xgroup_create(key, group, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        self._groups.add((topic, group))

    # -- publish -----------------------------------------------------------

    def publish(self, event: Event) -> None:
        self.publish_many([event])

    def publish_many(self, events: Sequence[Event]) -> None:
        if not events:
            return
        pipe = self.client.pipeline(transaction=False)
        counts: dict[str, int] = {}
        for e in events:
            pipe.xadd(
                self.stream_key(e.topic),
                _encode(e),  # type: ignore[arg-type]
                maxlen=self.settings.max_stream_length,
                approximate=True,
            )
            counts[e.topic] = counts.get(e.topic, 0) + 1
        pipe.execute()
        for topic, n in counts.items():
            EVENTS_PUBLISHED.labels(topic=topic).inc(n)

    # -- consume -----------------------------------------------------------

    def consume(
        self, topic: str, group: str, consumer: str, *, max_count: int = 10, block_ms: int = 1000
    ) -> list[Delivery]:
        if max_count < 1:
            raise InvalidInput("max_count must be >= 1")
        self._ensure_group(topic, group)
        deadline = time.monotonic() + max(block_ms, 0) / 1000
        while True:
            try:
                out = self._take(topic, group, consumer, max_count, deadline)
            except redis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                # The stream was deleted under us (retention, an operator): recreate.
                self._groups.discard((topic, group))
                self._ensure_group(topic, group)
                continue
            # XREADGROUP blocked inside _take; loop to promote retries now due
            # and to reclaim abandoned work before blocking again.
            if out or time.monotonic() >= deadline:
                return out

    def _take(
        self, topic: str, group: str, consumer: str, max_count: int, deadline: float
    ) -> list[Delivery]:
        main, retry, delayed = self._keys(topic, group)
        now = time.time()
        next_due = self._promote(keys=[delayed, retry], args=[now, 1000])
        out = self._reclaim(topic, group, consumer, max_count)
        room = max_count - len(out)
        if room <= 0:
            return out
        remaining_ms = int((deadline - time.monotonic()) * 1000)
        # Wake up for the next due retry and to look for abandoned work again.
        slice_ms = max(10, int(self.settings.visibility_timeout_s * 500))
        if next_due is not None:
            slice_ms = min(slice_ms, max(1, int((float(next_due) - now) * 1000)))
        block = None if out or remaining_ms <= 0 else max(1, min(remaining_ms, slice_ms))
        reply = self.client.xreadgroup(
            group, consumer, {main: ">", retry: ">"}, count=room, block=block
        )
        for key, entries in reply or []:
            kind = RETRY if key.decode() == retry else MAIN
            for entry_id, fields in entries:
                out.append(self._delivery(topic, group, kind, entry_id, fields, delivered=1))
        return out

    def _reclaim(self, topic: str, group: str, consumer: str, max_count: int) -> list[Delivery]:
        main, retry, _ = self._keys(topic, group)
        idle_ms = int(self.settings.visibility_timeout_s * 1000)
        out: list[Delivery] = []
        for kind, key in ((MAIN, main), (RETRY, retry)):
            room = max_count - len(out)
            if room <= 0:
                break
            reply = self.client.xautoclaim(key, group, consumer, idle_ms, "0-0", count=room)
            entries = [(i, f) for i, f in reply[1] if f]  # trimmed entries come back empty
            if not entries:
                continue
            pipe = self.client.pipeline(transaction=False)
            for entry_id, _ in entries:
                pipe.xpending_range(key, group, entry_id, entry_id, 1)
            counts = [p[0]["times_delivered"] if p else 1 for p in pipe.execute()]
            for (entry_id, fields), delivered in zip(entries, counts, strict=True):
                out.append(self._delivery(topic, group, kind, entry_id, fields, delivered))
        return out

    def _delivery(
        self,
        topic: str,
        group: str,
        kind: str,
        entry_id: bytes,
        fields: dict[bytes, bytes],
        delivered: int,
    ) -> Delivery:
        if kind == RETRY:
            retried = orjson.loads(fields[b"m"])
            event = Event(
                topic=topic,
                payload=retried["payload"],
                id=retried["id"],
                key=retried["key"],
                created_at=retried["created_at"],
            )
            attempt = int(retried["attempts"]) + delivered
        else:
            event, attempt = _decode(topic, fields), delivered
        return Delivery(
            event=event, group=group, attempt=attempt, receipt=f"{kind}|{entry_id.decode()}"
        )

    # -- settle ------------------------------------------------------------

    def _settle(self, pipe: Any, delivery: Delivery) -> None:
        kind, _, entry_id = delivery.receipt.partition("|")
        if kind not in (MAIN, RETRY) or not entry_id:
            raise InvalidInput(f"not a Redis bus receipt: {delivery.receipt!r}")
        main, retry, _ = self._keys(delivery.event.topic, delivery.group)
        if kind == MAIN:
            pipe.xack(main, delivery.group, entry_id)
        else:
            # The retry stream belongs to this group alone, so a settled entry can go.
            pipe.xack(retry, delivery.group, entry_id)
            pipe.xdel(retry, entry_id)

    def ack(self, delivery: Delivery) -> None:
        pipe = self.client.pipeline(transaction=True)
        self._settle(pipe, delivery)
        pipe.execute()

    def ack_many(self, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return
        pipe = self.client.pipeline(transaction=False)
        for delivery in deliveries:
            self._settle(pipe, delivery)
        pipe.execute()

    def nack(self, delivery: Delivery, error: str, *, retry_in_s: float | None) -> None:
        e = delivery.event
        main, _, delayed = self._keys(e.topic, delivery.group)
        pipe = self.client.pipeline(transaction=True)
        if retry_in_s is None:
            fields = {
                **_encode(e),
                "group": delivery.group,
                "attempts": delivery.attempt,
                "error": error,
                "failed_at": repr(time.time()),
            }
            pipe.xadd(
                f"{main}:dead",
                fields,  # type: ignore[arg-type]
                maxlen=self.settings.max_stream_length,
                approximate=True,
            )
        else:
            member = orjson.dumps(
                {
                    "id": e.id,
                    "key": e.key,
                    "payload": e.payload,
                    "created_at": e.created_at,
                    "attempts": delivery.attempt,
                    "error": error,
                    "nonce": uuid.uuid4().hex,
                }
            )
            pipe.zadd(delayed, {member: time.time() + max(retry_in_s, 0.0)})
        self._settle(pipe, delivery)
        pipe.execute()

    # -- inspect -----------------------------------------------------------

    def depth(self, topic: str, group: str) -> int:
        self._ensure_group(topic, group)
        main, retry, delayed = self._keys(topic, group)
        pipe = self.client.pipeline(transaction=False)
        pipe.xinfo_groups(main)
        pipe.xlen(retry)  # acked retries are deleted: whatever is left is unsettled
        pipe.zcard(delayed)
        groups, retry_len, waiting = pipe.execute()
        info = next(g for g in groups if g["name"].decode() == group)
        lag = info.get("lag")
        if lag is None:
            # Redis cannot tell the lag after some deletions; count what is left.
            last = info["last-delivered-id"].decode()
            lag = len(self.client.xrange(main, f"({last}", "+"))
        return int(lag) + int(info["pending"]) + int(retry_len) + int(waiting)

    def dead_letters(
        self, topic: str, group: str | None = None, limit: int = 100
    ) -> list[DeadLetter]:
        key = f"{self.stream_key(topic)}:dead"
        out: list[DeadLetter] = []
        upper = "+"
        while len(out) < limit:
            chunk = self.client.xrevrange(key, upper, "-", count=max(limit, 100))
            for entry_id, f in chunk:
                upper = f"({entry_id.decode()}"
                if group is not None and f[b"group"].decode() != group:
                    continue
                out.append(
                    DeadLetter(
                        event=_decode(topic, f),
                        group=f[b"group"].decode(),
                        attempts=int(f[b"attempts"]),
                        error=f[b"error"].decode(),
                        failed_at=float(f[b"failed_at"]),
                    )
                )
                if len(out) >= limit:
                    break
            if len(chunk) < max(limit, 100):
                break
        return out

    def trim(self, topic: str, keep_last: int = 0) -> int:
        """Trim the topic stream to about ``keep_last`` entries; returns how many went.

        Unlike the embedded bus, Redis trims regardless of unread entries, as
        ``MAXLEN`` does on publish.
        """
        return int(self.client.xtrim(self.stream_key(topic), maxlen=keep_last, approximate=False))

    def ping(self) -> None:
        self.client.ping()

    def close(self) -> None:
        self.client.close()
