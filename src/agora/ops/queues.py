"""Queue depth gauge: which (topic, consumer group) pairs ``/metrics`` reports.

The consumers declare their pairs once at wiring time; ``/metrics`` refreshes
``agora_bus_queue_depth`` for each just before a scrape, so the gauge is
current even when the consuming workers run in another process (the bus
answers lag from its shared state, not from the consumer's memory).

Example:
    >>> watch_queue("asset.uploaded", "pipeline")
    >>> ("asset.uploaded", "pipeline") in watched_queues()
    True
"""

from __future__ import annotations

import logging
import threading

from agora.bus.base import EventBus
from agora.ops.metrics import QUEUE_DEPTH

log = logging.getLogger(__name__)
_lock = threading.Lock()
_watched: set[tuple[str, str]] = set()


def watch_queue(topic: str, group: str) -> None:
    """Report the lag of ``group`` on ``topic`` in ``agora_bus_queue_depth``."""
    with _lock:
        _watched.add((topic, group))


def unwatch_queue(topic: str, group: str) -> None:
    """Stop reporting a pair (a consumer that is gone; tests)."""
    with _lock:
        _watched.discard((topic, group))


def watched_queues() -> list[tuple[str, str]]:
    """The declared (topic, group) pairs, sorted."""
    with _lock:
        return sorted(_watched)


def refresh_queue_depth(bus: EventBus) -> dict[tuple[str, str], int]:
    """Set the gauge for every watched pair from ``bus.depth``; return the depths.

    A pair whose depth cannot be read (bus down) keeps its last value; the
    failure shows in ``/readyz`` instead of breaking the scrape.
    """
    depths: dict[tuple[str, str], int] = {}
    for topic, group in watched_queues():
        try:
            depth = bus.depth(topic, group)
        # Any backend error: the metrics scrape must still answer.
        except Exception as exc:  # noqa: BLE001
            log.debug(
                "queue depth unavailable", extra={"topic": topic, "group": group, "error": str(exc)}
            )
            continue
        QUEUE_DEPTH.labels(topic=topic, group=group).set(depth)
        depths[(topic, group)] = depth
    return depths
