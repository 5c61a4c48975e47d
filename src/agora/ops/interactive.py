"""Background work yields to interactive requests in the same process.

With embedded backends the API process also runs the pipeline workers, and
two cores are shared by a search and a batch of encoder calls. The API's
middleware counts the interactive requests in flight (``interactive()``;
bulk writes such as ``POST /assets:batch`` and import routes are not
interactive), and before each step of a batch the pipeline calls
``yield_to_interactive``: it waits, up to a bound, until none is in flight.
A search therefore meets an idle encoder instead of queueing behind a batch;
the bound keeps an API under constant load from starving the pipeline.
Separate worker processes get the same effect from the OS scheduler
(``pipeline.worker_nice``).

Example:
    >>> with interactive():
    ...     in_flight()
    1
    >>> yield_to_interactive(0.01)
    0.0
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_cond = threading.Condition()
_count = 0


def in_flight() -> int:
    """Interactive requests now running in this process."""
    return _count


@contextmanager
def interactive() -> Iterator[None]:
    """Mark the enclosed work as an interactive request."""
    global _count
    with _cond:
        _count += 1
    try:
        yield
    finally:
        with _cond:
            _count -= 1
            if _count == 0:
                _cond.notify_all()


def yield_to_interactive(max_wait_s: float) -> float:
    """Wait until no interactive request runs (at most ``max_wait_s``); returns the
    seconds waited (0.0 when none was running)."""
    if _count == 0 or max_wait_s <= 0:
        return 0.0
    start = time.monotonic()
    with _cond:
        _cond.wait_for(lambda: _count == 0, timeout=max_wait_s)
    return time.monotonic() - start
