"""The MLOps background loops of one process: task runners, the scheduler,
the canary-figures flusher and the click attribution (online CTR per version).

``agora worker`` runs the task runners; ``agora scheduler`` runs the
scheduler (and, by default, runners too); ``agora serve`` with embedded
backends runs all three in-process, so one command is a whole platform.

Example:
    >>> orchestrator = platform.orchestrator()  # doctest: +SKIP
    >>> bg = MlopsBackground(orchestrator, platform.canary_monitor,
    ...                      scheduler=platform.scheduler(orchestrator))  # doctest: +SKIP
    >>> bg.start(); ...; bg.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic

from agora.mlops.orchestrator import Orchestrator, Target
from agora.mlops.scheduler import Scheduler
from agora.ops.shutdown import join_within, remaining

if TYPE_CHECKING:
    from agora.mlops.canary import CanaryMonitor
    from agora.ranking.attribution import AttributionConsumer

log = logging.getLogger("agora.mlops.background")
FLUSH_EVERY_S = 10.0


class MlopsBackground(Generic[Target]):
    """Start and stop the chosen loops together."""

    def __init__(
        self,
        orchestrator: Orchestrator[Target],
        canary: CanaryMonitor,
        *,
        scheduler: Scheduler[Target] | None = None,
        attribution: Callable[[str], AttributionConsumer] | None = None,
        runners: bool = True,
        flusher: bool = True,
    ) -> None:
        """``runners`` run ``orchestrator``'s tasks here; ``scheduler`` (when given)
        submits its due jobs; ``flusher`` writes ``canary``'s figures periodically.
        ``attribution`` (a consumer by name) credits clicks to the ranking versions
        that served them; its figures need the flusher, so it starts too."""
        self.orchestrator = orchestrator
        self.canary = canary
        self.scheduler = scheduler
        self.attribution_consumer = attribution
        self.runners = runners
        self.flusher = flusher or attribution is not None
        self.stop_event = threading.Event()
        self.flush_thread: threading.Thread | None = None
        self.attribution_thread: threading.Thread | None = None

    def _flush_loop(self) -> None:
        while not self.stop_event.wait(FLUSH_EVERY_S):
            try:
                self.canary.flush()
            except Exception:  # retried on the next period
                log.exception("flushing canary figures failed")

    def start(self) -> None:
        # A (re)started process takes tasks again, even one without runners.
        self.orchestrator.admission.reopen()
        if self.runners:
            self.orchestrator.start()
        if self.scheduler is not None:
            self.scheduler.start()
        if self.flusher:
            self.flush_thread = threading.Thread(
                target=self._flush_loop, name="canary-flush", daemon=True
            )
            self.flush_thread.start()
        if self.attribution_consumer is not None:
            consumer = self.attribution_consumer(f"attribution-{id(self):x}")
            self.attribution_thread = threading.Thread(
                target=consumer.run_forever,
                args=(self.stop_event,),
                name="ranking-attribution",
                daemon=True,
            )
            self.attribution_thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every loop within ``timeout`` seconds in all."""
        deadline = time.monotonic() + timeout
        self.stop_event.set()
        if self.scheduler is not None:
            self.scheduler.stop(remaining(deadline))
        self.orchestrator.stop(remaining(deadline))
        threads = [t for t in (self.attribution_thread, self.flush_thread) if t is not None]
        join_within(threads, remaining(deadline))
        if self.flusher:
            self.canary.flush()
