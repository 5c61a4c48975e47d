"""Event bus interface: at-least-once delivery with consumer groups.

Every backend passes ``agora.testing.bus_contract``. Handlers must be
idempotent by ``Event.id`` (see ``agora.bus.consumer``): a delivery can repeat
after a consumer dies before acking.

Example:
    >>> ev = Event(topic=Topics.ASSET_UPLOADED, payload={"asset_id": "a1"})
    >>> ev.topic
    'asset.uploaded'
"""

from __future__ import annotations

import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


class Topics:
    """Topic names used across the platform."""

    ASSET_UPLOADED = "asset.uploaded"
    ASSET_UPDATED = "asset.updated"
    ASSET_DELETED = "asset.deleted"
    ASSET_PROCESSED = "asset.processed"
    ASSET_OPTIMIZATION_REQUESTED = "asset.optimization.requested"
    INTERACTION_RECORDED = "interaction.recorded"
    TRAINING_REQUESTED = "training.requested"


def new_event_id() -> str:
    """A sortable unique id: 12 hex digits of ms time + 20 random hex digits."""
    return f"{int(time.time() * 1000):012x}{uuid.uuid4().hex[:20]}"


@dataclass(frozen=True)
class Event:
    """One message on a topic. ``id`` is the idempotency key."""

    topic: str
    payload: dict[str, Any]
    id: str = field(default_factory=new_event_id)
    key: str | None = None
    created_at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Delivery:
    """An event handed to one consumer; ``attempt`` counts deliveries (1 = first)."""

    event: Event
    group: str
    attempt: int
    receipt: str  # backend handle used to ack / nack


@dataclass(frozen=True)
class DeadLetter:
    """An event that failed ``max_attempts`` times."""

    event: Event
    group: str
    attempts: int
    error: str
    failed_at: float


class EventBus(ABC):
    """Publish events to topics; consume them through named consumer groups."""

    @abstractmethod
    def publish(self, event: Event) -> None:
        """Durably append one event."""

    @abstractmethod
    def publish_many(self, events: Sequence[Event]) -> None:
        """Durably append a batch in one round trip / transaction."""

    @abstractmethod
    def consume(
        self, topic: str, group: str, consumer: str, *, max_count: int = 10, block_ms: int = 1000
    ) -> list[Delivery]:
        """Next deliveries for ``consumer`` in ``group``: new events, due retries,
        and deliveries another consumer held past the visibility timeout."""

    @abstractmethod
    def ack(self, delivery: Delivery) -> None:
        """Mark a delivery done for its group."""

    def ack_many(self, deliveries: Sequence[Delivery]) -> None:
        """Ack a batch; backends override this with one round trip / transaction."""
        for delivery in deliveries:
            self.ack(delivery)

    @abstractmethod
    def nack(self, delivery: Delivery, error: str, *, retry_in_s: float | None) -> None:
        """Give a delivery back: redeliver after ``retry_in_s``, or dead-letter it
        when ``retry_in_s`` is None."""

    @abstractmethod
    def depth(self, topic: str, group: str) -> int:
        """Lag: events not yet acked by the group (unread + in flight + waiting retry)."""

    @abstractmethod
    def dead_letters(
        self, topic: str, group: str | None = None, limit: int = 100
    ) -> list[DeadLetter]:
        """Dead-lettered events for a topic, newest first."""

    def ping(self) -> None:  # noqa: B027 - optional override
        """Raise if the backend cannot answer."""

    def close(self) -> None:  # noqa: B027 - optional override
        """Release connections."""
