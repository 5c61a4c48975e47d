"""Retraining the tag heads when enough new feedback has arrived.

Two ways in, both ending in ``TaggingService.train``, the one gated path
(``agora.tagging.pipeline``: holdout, evaluated against the champion, first
heads -> champion, better -> challenger and canary, worse -> rejected):

- the feedback request itself: when ``TaggingService.feedback`` finds
  ``tagging.retrain_min_feedback`` new rows since the champion's training
  snapshot (and ``tagging.auto_retrain`` is on), ``BackgroundRetrainer``
  trains on a thread of that process, so the request does not wait;
- the ``tagging_retrain`` task (``agora.tagging.tasks``, :func:`retrain_if_due`
  on the process's service), for a scheduler job or
  ``POST /api/v1/pipelines/tagging_retrain``: it trains when due.

One run at a time, in a process (a lock) and across processes (a lease in
the database, ``agora.tagging.lease``). Both ways in are automatic runs
(``TaggingService.retrain_if_new``): holding the lock and the lease, a run
checks again that enough feedback arrived since the newest registered heads,
so one round of feedback registers one version however many triggers fired
on it (before, the scheduled task that waited behind a feedback-triggered run
trained again on the same feedback). The trigger counts from the newest
registered version, so a rejected retrain waits for more feedback.

Example:
    >>> retrainer = BackgroundRetrainer(lambda: service.train(actor="auto"))  # doctest: +SKIP
    >>> retrainer.start(), retrainer.wait(5.0)  # doctest: +SKIP
    (True, True)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from agora.errors import InvalidInput

if TYPE_CHECKING:
    from agora.mlops.tasks import TaskContext

log = logging.getLogger("agora.tagging.retrain")


class BackgroundRetrainer:
    """Runs ``train`` on a daemon thread, one run at a time."""

    def __init__(self, train: Callable[[], Any]) -> None:
        self._train = train
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.runs = 0
        self.last_error: str | None = None

    def start(self) -> bool:
        """Start a run unless one is under way; True when one was started."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False
            self._thread = threading.Thread(target=self._run, name="tagging-retrain", daemon=True)
            self._thread.start()
            return True

    def _run(self) -> None:
        try:
            self._train()
            self.last_error = None
        except Exception as exc:  # a failed run must not kill the process; the next one retries
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("tag heads retraining failed")
        finally:
            self.runs += 1

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the current run; True when none is running any more."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()


class HeadsRetraining(Protocol):
    """What retraining asks of the tagging service (``TaggingService``)."""

    def retrain_due(self) -> bool: ...

    def retrain_if_new(
        self, *, actor: str, reason: str, ctx: TaskContext | None = None
    ) -> dict[str, Any] | None: ...


def retrain_if_due(service: HeadsRetraining, ctx: TaskContext | None = None) -> dict[str, Any]:
    """Train new heads through the gate when enough new feedback arrived (the
    ``tagging_retrain`` task); ``trained`` is the pipeline's outcome. Too few
    confirmed tags for a holdout: nothing is trained, ``skipped`` says why."""
    due = service.retrain_due()
    if not due:
        if ctx is not None:
            ctx.progress(100, "not due")
        return {"due": False, "trained": None}
    try:
        trained = service.retrain_if_new(actor="task:tagging_retrain", reason="schedule", ctx=ctx)
    except InvalidInput as exc:  # a periodic job: not a failure, the next run retries
        if ctx is not None:
            ctx.progress(100, f"skipped: {exc.detail}")
        return {"due": True, "trained": None, "skipped": exc.detail}
    if trained is None:  # another run trained on this feedback, or trains now
        if ctx is not None:
            ctx.progress(100, "skipped: trained by another run")
        return {"due": True, "trained": None, "skipped": "trained by another run"}
    if ctx is not None:
        ctx.progress(100, f"{trained['model']}: {trained['decision']}")
    return {"due": True, "trained": trained}
