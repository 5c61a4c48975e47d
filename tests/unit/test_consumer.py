"""Backoff schedule, ledger and outcome accounting of the consumer loop."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from agora.bus.base import Event
from agora.bus.consumer import Consumer, SqlIdempotencyLedger, backoff_s
from agora.bus.embedded import EmbeddedBus
from agora.config import BusSettings
from agora.storage import migrate
from agora.storage.database import Database


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    settings = BusSettings(backoff_base_s=0.5, backoff_max_s=10.0)
    rng = random.Random(7)
    for attempt, full in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (6, 10.0), (500, 10.0)]:
        delays = [backoff_s(attempt, settings, rng) for _ in range(200)]
        assert all(full / 2 <= d <= full for d in delays), attempt
        assert max(delays) - min(delays) > full / 10  # jitter spreads retries


def test_sql_ledger_marks_once_per_group(tmp_path: Path) -> None:
    db = Database.open(f"sqlite:///{tmp_path / 'c.db'}")
    migrate.upgrade(db)
    ledger = SqlIdempotencyLedger(db)
    assert not ledger.seen("g", "e1")
    ledger.mark("g", "e1")
    ledger.mark("g", "e1")  # a second consumer racing to mark: no error
    assert ledger.seen("g", "e1") and not ledger.seen("other", "e1")


@pytest.fixture
def bus(tmp_path: Path) -> EmbeddedBus:
    return EmbeddedBus(f"memory://?path={tmp_path / 'bus.db'}")


def test_outcomes_follow_attempts(bus: EmbeddedBus) -> None:
    settings = BusSettings(max_attempts=2, backoff_base_s=0.0, backoff_max_s=0.0)

    def fail(event: Event) -> None:
        raise KeyError("asset_id")

    consumer = Consumer(bus, "t", "g", fail, name="c", settings=settings)
    bus.publish(Event(topic="t", payload={}))
    [first] = bus.consume("t", "g", "c", block_ms=0)
    assert consumer.handle(first) == "retry"
    [second] = bus.consume("t", "g", "c", block_ms=1000)
    assert second.attempt == 2
    assert consumer.handle(second) == "dead_letter"
    [dead] = bus.dead_letters("t")
    assert dead.error == "KeyError: 'asset_id'" and dead.attempts == 2


def test_handler_success_acks_and_marks(bus: EmbeddedBus, tmp_path: Path) -> None:
    db = Database.open(f"sqlite:///{tmp_path / 'c.db'}")
    migrate.upgrade(db)
    ledger = SqlIdempotencyLedger(db)
    consumer = Consumer(
        bus, "t", "g", lambda e: None, name="c", settings=BusSettings(), ledger=ledger
    )
    event = Event(topic="t", payload={})
    bus.publish(event)
    assert consumer.run_once(block_ms=0) == 1
    assert ledger.seen("g", event.id)
    assert bus.depth("t", "g") == 0
