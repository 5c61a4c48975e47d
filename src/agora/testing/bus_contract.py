"""The contract every ``EventBus`` backend passes (a pytest mixin).

A backend's test class inherits ``BusContract`` and implements ``make_bus``;
calling it twice must open the SAME underlying store (same file, same Redis
prefix), which is how durability across a restart is checked.

Example:
    class TestEmbeddedBus(BusContract):
        @pytest.fixture(autouse=True)
        def _file(self, tmp_path):
            self.path = tmp_path / "bus.db"

        def make_bus(self, settings):
            return EmbeddedBus(f"memory://?path={self.path}", settings=settings)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agora.bus.base import Delivery, Event, EventBus
from agora.bus.consumer import Consumer, SqlIdempotencyLedger
from agora.config import BusSettings
from agora.ops.metrics import EVENTS_HANDLED
from agora.storage import migrate
from agora.storage.database import Database

TOPIC = "asset.uploaded"
# Small enough to keep the suite fast, large enough for a slow CI machine to
# consume and settle a batch well inside it.
VISIBILITY_S = 0.4


class BusContract:
    """Mixin: subclasses implement ``make_bus(settings)``."""

    _buses: list[EventBus]

    def make_bus(self, settings: BusSettings) -> EventBus:
        raise NotImplementedError

    @pytest.fixture(autouse=True)
    def _close_buses(self) -> Iterator[None]:
        self._buses = []
        yield
        for bus in self._buses:
            bus.close()

    def settings(self, **overrides: float) -> BusSettings:
        values: dict[str, float] = {
            "visibility_timeout_s": VISIBILITY_S,
            "max_attempts": 3,
            "backoff_base_s": 0.01,
            "backoff_max_s": 0.05,
        }
        values.update(overrides)
        return BusSettings(**values)  # type: ignore[arg-type]

    def bus(self, **overrides: float) -> EventBus:
        bus = self.make_bus(self.settings(**overrides))
        self._buses.append(bus)
        return bus

    @staticmethod
    def drain(
        bus: EventBus,
        group: str,
        consumer: str = "c",
        topic: str = TOPIC,
    ) -> list[Delivery]:
        """Consume until nothing is left right now."""
        out: list[Delivery] = []
        while batch := bus.consume(topic, group, consumer, max_count=100, block_ms=0):
            out += batch
        return out

    # -- basics ------------------------------------------------------------

    def test_publish_consume_ack(self) -> None:
        bus = self.bus()
        event = Event(topic=TOPIC, payload={"asset_id": "a1", "n": 1}, key="a1")
        bus.publish(event)
        [got] = bus.consume(TOPIC, "g", "c1", max_count=10, block_ms=0)
        assert got.event == event
        assert got.attempt == 1 and got.group == "g"
        bus.ack(got)
        assert bus.consume(TOPIC, "g", "c1", block_ms=0) == []
        assert bus.depth(TOPIC, "g") == 0
        bus.ping()

    def test_ack_many_settles_a_batch(self) -> None:
        bus = self.bus()
        bus.publish_many([Event(topic=TOPIC, payload={"i": i}) for i in range(20)])
        got = bus.consume(TOPIC, "g", "c1", max_count=15, block_ms=0)
        bus.ack_many(got[:10])
        bus.ack_many([])
        assert bus.depth(TOPIC, "g") == 10
        time.sleep(VISIBILITY_S + 0.1)
        redelivered = self.drain(bus, "g", "c2")
        assert [d.event.payload["i"] for d in redelivered] == list(range(10, 20))

    def test_empty_consume_blocks_then_returns_nothing(self) -> None:
        bus = self.bus()
        started = time.monotonic()
        assert bus.consume(TOPIC, "g", "c1", block_ms=150) == []
        # It waited, and it came back (a loaded machine may take far longer than 150 ms).
        assert 0.1 <= time.monotonic() - started < 60.0

    def test_blocked_consumer_wakes_on_publish(self) -> None:
        bus = self.bus()
        bus.consume(TOPIC, "g", "c1", block_ms=0)  # create the group
        timer = threading.Timer(0.2, bus.publish, [Event(topic=TOPIC, payload={"x": 1})])
        timer.start()
        started = time.monotonic()
        got = bus.consume(TOPIC, "g", "c1", block_ms=120_000)
        timer.join()
        assert [d.event.payload for d in got] == [{"x": 1}]
        # Woken by the publish, not by the block timeout (which is far beyond any load).
        assert time.monotonic() - started < 60.0

    def test_group_created_after_publish_sees_backlog(self) -> None:
        bus = self.bus()
        bus.publish_many([Event(topic=TOPIC, payload={"i": i}) for i in range(3)])
        assert len(self.drain(bus, "late-group")) == 3

    def test_publish_many_preserves_order_per_topic(self) -> None:
        bus = self.bus()
        events = [
            Event(topic=TOPIC if i % 3 else "interaction.recorded", payload={"i": i})
            for i in range(60)
        ]
        bus.publish_many(events)
        got = [d.event.id for d in self.drain(bus, "g")]
        assert got == [e.id for e in events if e.topic == TOPIC]
        other = self.drain(bus, "g", topic="interaction.recorded")
        assert [d.event.id for d in other] == [e.id for e in events if e.topic != TOPIC]

    # -- groups ------------------------------------------------------------

    def test_every_group_gets_every_event(self) -> None:
        bus = self.bus()
        events = [Event(topic=TOPIC, payload={"i": i}) for i in range(5)]
        bus.publish_many(events)
        for group in ("search", "tagging"):
            assert [d.event.id for d in self.drain(bus, group)] == [e.id for e in events]

    def test_consumers_in_one_group_split_events(self) -> None:
        bus = self.bus()
        events = [Event(topic=TOPIC, payload={"i": i}) for i in range(10)]
        bus.publish_many(events)
        first = bus.consume(TOPIC, "g", "c1", max_count=4, block_ms=0)
        second = self.drain(bus, "g", "c2")
        ids1, ids2 = {d.event.id for d in first}, {d.event.id for d in second}
        assert len(first) == 4 and len(second) == 6
        assert ids1.isdisjoint(ids2) and ids1 | ids2 == {e.id for e in events}

    # -- at-least-once -----------------------------------------------------

    def test_unacked_delivery_goes_to_another_consumer_after_visibility_timeout(self) -> None:
        bus = self.bus()
        bus.publish(Event(topic=TOPIC, payload={"a": 1}))
        [held] = bus.consume(TOPIC, "g", "dies", block_ms=0)
        assert bus.consume(TOPIC, "g", "c2", block_ms=0) == []  # still leased
        time.sleep(VISIBILITY_S + 0.1)
        [again] = bus.consume(TOPIC, "g", "c2", block_ms=0)
        assert again.event.id == held.event.id
        assert again.attempt == 2
        bus.ack(again)
        assert bus.depth(TOPIC, "g") == 0

    def test_nack_retries_after_delay_with_attempt_incremented(self) -> None:
        bus = self.bus()
        bus.publish(Event(topic=TOPIC, payload={"a": 1}))
        [first] = bus.consume(TOPIC, "g", "c1", block_ms=0)
        bus.nack(first, "boom", retry_in_s=0.3)
        assert bus.consume(TOPIC, "g", "c1", block_ms=0) == []
        assert bus.depth(TOPIC, "g") == 1  # waiting retry still counts as lag
        [second] = bus.consume(TOPIC, "g", "c1", block_ms=3000)
        assert second.event == first.event and second.attempt == 2
        bus.nack(second, "boom again", retry_in_s=0.0)
        [third] = bus.consume(TOPIC, "g", "c1", block_ms=3000)
        assert third.attempt == 3
        bus.ack(third)
        assert bus.depth(TOPIC, "g") == 0
        assert self.drain(bus, "g") == []

    def test_retry_is_only_for_the_failing_group(self) -> None:
        bus = self.bus()
        bus.publish(Event(topic=TOPIC, payload={"a": 1}))
        [a] = bus.consume(TOPIC, "a", "c", block_ms=0)
        [b] = bus.consume(TOPIC, "b", "c", block_ms=0)
        bus.ack(b)
        bus.nack(a, "boom", retry_in_s=0.0)
        assert len(bus.consume(TOPIC, "a", "c", block_ms=2000)) == 1
        assert bus.consume(TOPIC, "b", "c", block_ms=200) == []

    def test_nack_without_retry_dead_letters(self) -> None:
        bus = self.bus()
        event = Event(topic=TOPIC, payload={"bad": True})
        bus.publish(event)
        bus.publish(Event(topic=TOPIC, payload={"ok": True}))
        first, second = bus.consume(TOPIC, "g", "c1", block_ms=0)
        bus.nack(first, "ValueError: bad payload", retry_in_s=None)
        bus.ack(second)
        [dead] = bus.dead_letters(TOPIC)
        assert dead.event == event and dead.group == "g"
        assert dead.attempts == 1 and "bad payload" in dead.error
        assert dead.failed_at >= event.created_at
        assert bus.dead_letters(TOPIC, group="other") == []
        assert bus.depth(TOPIC, "g") == 0
        assert self.drain(bus, "g") == []

    def test_depth_counts_unread_in_flight_and_waiting(self) -> None:
        bus = self.bus()
        bus.publish_many([Event(topic=TOPIC, payload={"i": i}) for i in range(5)])
        assert bus.depth(TOPIC, "g") == 5
        a, b = bus.consume(TOPIC, "g", "c1", max_count=2, block_ms=0)
        assert bus.depth(TOPIC, "g") == 5
        bus.ack(a)
        bus.nack(b, "later", retry_in_s=60)
        assert bus.depth(TOPIC, "g") == 4
        assert bus.depth(TOPIC, "other") == 5

    def test_unacked_events_survive_close_and_reopen(self) -> None:
        bus = self.bus()
        bus.publish_many([Event(topic=TOPIC, payload={"i": i}) for i in range(3)])
        [held] = bus.consume(TOPIC, "g", "c1", max_count=1, block_ms=0)
        bus.close()
        reopened = self.bus()
        assert reopened.depth(TOPIC, "g") == 3
        time.sleep(VISIBILITY_S + 0.1)
        got = self.drain(reopened, "g", "c2")
        assert sorted(d.event.payload["i"] for d in got) == [0, 1, 2]
        assert next(d for d in got if d.event.id == held.event.id).attempt == 2

    # -- consumer loop -----------------------------------------------------

    def _ledger(self, tmp_path: Path) -> SqlIdempotencyLedger:
        db = Database.open(f"sqlite:///{tmp_path / 'catalog.db'}")
        migrate.upgrade(db)
        return SqlIdempotencyLedger(db)

    def test_consumer_with_ledger_skips_duplicates(self, tmp_path: Path) -> None:
        bus, settings = self.bus(), self.settings()
        handled: list[str] = []
        consumer = Consumer(
            bus,
            TOPIC,
            "dup-g",
            lambda e: handled.append(e.id),
            name="c1",
            settings=settings,
            ledger=self._ledger(tmp_path),
        )
        event = Event(topic=TOPIC, payload={"a": 1})
        before = EVENTS_HANDLED.labels(topic=TOPIC, group="dup-g", outcome="duplicate")._value.get()
        bus.publish(event)
        bus.publish(event)  # the same event id again, as after a lost ack
        while consumer.run_once(block_ms=0):
            pass
        assert handled == [event.id]
        after = EVENTS_HANDLED.labels(topic=TOPIC, group="dup-g", outcome="duplicate")._value.get()
        assert after - before == 1
        assert bus.depth(TOPIC, "dup-g") == 0

    def test_consumer_retries_then_dead_letters_poison(self) -> None:
        bus, settings = self.bus(), self.settings()
        calls: dict[str, int] = {}

        def handler(event: Event) -> None:
            calls[event.id] = calls.get(event.id, 0) + 1
            if event.payload.get("poison") or calls[event.id] < 2:
                raise RuntimeError(f"cannot handle {event.payload}")

        consumer = Consumer(bus, TOPIC, "g", handler, name="c1", settings=settings)
        flaky, poison = (
            Event(topic=TOPIC, payload={"i": 1}),
            Event(topic=TOPIC, payload={"poison": True}),
        )
        bus.publish_many([flaky, poison])
        deadline = time.monotonic() + 10
        while bus.depth(TOPIC, "g") and time.monotonic() < deadline:
            consumer.run_once(block_ms=200)
        assert calls == {flaky.id: 2, poison.id: settings.max_attempts}
        [dead] = bus.dead_letters(TOPIC, "g")
        assert dead.event.id == poison.id and dead.attempts == settings.max_attempts
        assert "RuntimeError" in dead.error
        assert consumer.refresh_depth() == 0

    def test_consumer_dead_letters_event_whose_consumers_keep_dying(self) -> None:
        bus = self.bus(max_attempts=1)
        bus.publish(Event(topic=TOPIC, payload={"crash": True}))
        bus.consume(TOPIC, "g", "died", block_ms=0)  # taken, never settled
        time.sleep(VISIBILITY_S + 0.1)
        called: list[Event] = []
        consumer = Consumer(
            bus, TOPIC, "g", called.append, name="c2", settings=self.settings(max_attempts=1)
        )
        assert consumer.run_once(block_ms=0) == 1
        assert called == []
        assert len(bus.dead_letters(TOPIC, "g")) == 1

    def test_run_forever_survives_handler_errors_and_stops(self) -> None:
        bus, settings = self.bus(), self.settings()
        done = threading.Event()

        def handler(event: Event) -> None:
            if event.payload["i"] == 0:
                raise ValueError("always fails")
            done.set()

        stop = threading.Event()
        consumer = Consumer(bus, TOPIC, "g", handler, name="c1", settings=settings)
        thread = threading.Thread(target=consumer.run_forever, args=(stop,))
        thread.start()
        bus.publish_many([Event(topic=TOPIC, payload={"i": i}) for i in range(2)])
        assert done.wait(5)
        stop.set()
        thread.join(5)
        assert not thread.is_alive()
