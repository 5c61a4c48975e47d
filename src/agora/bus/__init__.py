"""Event bus: publish events to topics, consume them through consumer groups.

``create_bus`` picks the backend from ``settings.bus.url``: ``memory://`` is the
durable SQLite outbox (``agora.bus.embedded``), ``redis://`` / ``rediss://`` is
Redis Streams (``agora.bus.redis_streams``). Both pass
``agora.testing.bus_contract``.

Example:
    >>> import tempfile
    >>> from agora.config import Settings
    >>> bus = create_bus(Settings(data_dir=tempfile.mkdtemp()))
    >>> bus.publish(Event(topic=Topics.ASSET_UPLOADED, payload={"asset_id": "a1"}))
    >>> bus.depth(Topics.ASSET_UPLOADED, "pipeline")
    1
    >>> bus.close()
"""

from __future__ import annotations

from agora.bus.base import DeadLetter, Delivery, Event, EventBus, Topics, new_event_id
from agora.bus.embedded import EmbeddedBus
from agora.bus.redis_streams import RedisStreamsBus
from agora.config import Settings
from agora.plugins import BackendRegistry

BUS_BACKENDS: BackendRegistry[EventBus] = BackendRegistry("event bus")
BUS_BACKENDS.register("memory")(EmbeddedBus)
BUS_BACKENDS.register("redis", "rediss")(RedisStreamsBus)


def create_bus(settings: Settings) -> EventBus:
    """Open the event bus named by ``settings.bus.url``."""
    return BUS_BACKENDS.create(settings.bus.url, settings=settings.bus, data_dir=settings.data_dir)


__all__ = [
    "BUS_BACKENDS",
    "DeadLetter",
    "Delivery",
    "EmbeddedBus",
    "Event",
    "EventBus",
    "RedisStreamsBus",
    "Topics",
    "create_bus",
    "new_event_id",
]
