"""Graceful shutdown: wait for many threads against one deadline.

Joining each thread with the full timeout lets a process with eight loops
take eight times its stop budget; one deadline bounds the whole stop.

Example:
    >>> import threading
    >>> t = threading.Thread(target=lambda: None); t.start()
    >>> join_within([t], timeout=1.0)
    []
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable


def remaining(deadline: float) -> float:
    """Seconds left until ``deadline`` (a ``time.monotonic()`` value), never negative."""
    return max(0.0, deadline - time.monotonic())


def join_within(threads: Iterable[threading.Thread], timeout: float) -> list[threading.Thread]:
    """Join every thread within ``timeout`` seconds in all; the ones still alive."""
    deadline = time.monotonic() + timeout
    alive = []
    for thread in threads:
        thread.join(remaining(deadline))
        if thread.is_alive():
            alive.append(thread)
    return alive
