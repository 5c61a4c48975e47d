"""Warm the served models when the one-command platform starts.

The first request of each capability used to pay its model loads: the text
encoder, the ranking models (and the compilation of their forests), the
moderation classifiers. Ranked search has a 200 ms deadline, so its first
answer was the trending fallback. ``agora serve`` (with the in-process
workers) runs ``warm_up`` on a background thread at start: the API answers
meanwhile, ``/readyz`` answers 503 until the models are warm (at most
``WarmUp.READY_AFTER_S``), and each capability is warm within seconds. A failure here is
logged and left to the request path, which has its own fallbacks.

Example:
    >>> warm_up(platform)  # doctest: +SKIP
    {'search': 1.2, 'moderation': 0.8, 'ranking': 2.9}
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agora.runtime import Platform

log = logging.getLogger("agora.warmup")


def _search(platform: Platform) -> None:
    from agora.search.base import SearchQuery

    platform.search.search(SearchQuery(text="warm up", limit=1))


def _moderation(platform: Platform) -> None:
    # Registers the shipped classifiers on a fresh store and loads them (the
    # sentence encoder they share with search is warm from the search step).
    platform.moderation.analyzer()


def _ranking(platform: Platform) -> None:
    # Loads the serving versions and compiles their forests; no request is
    # ranked, so nothing enters the served-list log the models train on.
    platform.ranking.reload_models()
    platform.ranking.pipeline.warm()


STEPS: dict[str, Callable[[Platform], None]] = {
    "search": _search,
    "moderation": _moderation,
    "ranking": _ranking,
}


def warm_up(platform: Platform) -> dict[str, float]:
    """Load each capability's models once; seconds per capability (failures logged)."""
    took: dict[str, float] = {}
    for name, step in STEPS.items():
        started = time.perf_counter()
        try:
            step(platform)
        except Exception:  # warming is best effort: requests keep their fallbacks
            log.warning("warm-up of %s failed", name, exc_info=True)
            continue
        took[name] = round(time.perf_counter() - started, 3)
    log.info("models warm: %s", took)
    return took


class WarmUp:
    """A started background warm-up; ``/readyz`` waits for it (bounded)."""

    # Past this, readiness stops waiting: every request path has its own fallback,
    # and a model store that hangs must not keep the process out of rotation forever.
    READY_AFTER_S = 300.0

    def __init__(self, thread: threading.Thread) -> None:
        self.thread, self.started = thread, time.monotonic()

    def pending(self) -> bool:
        """Still loading models, within the bound."""
        return self.thread.is_alive() and time.monotonic() - self.started < self.READY_AFTER_S

    def check(self) -> None:
        """A readiness check: raises while the models are loading."""
        if self.pending():
            raise RuntimeError("models warming up (search, moderation, ranking)")


def warm_up_in_background(platform: Platform) -> WarmUp:
    """``warm_up`` on a daemon thread (started)."""
    thread = threading.Thread(target=warm_up, args=(platform,), name="warm-up", daemon=True)
    thread.start()
    return WarmUp(thread)
