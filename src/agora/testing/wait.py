"""Waiting on conditions in tests: poll a predicate until it holds or a deadline passes.

Tests never sleep for a guessed duration; they poll for the state they need,
with a deadline generous enough for a loaded 2-core machine (a slow machine
makes a test slower, never red). The polling interval is not a guess at how
long anything takes: it only bounds how often the condition is checked.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# Starting an interpreter that imports the platform takes ~2 s on a quiet machine
# and can take twenty times that beside a CPU burner on 2 cores.
PROCESS_START_S = 180.0


class WaitTimeout(AssertionError):
    """The condition did not hold before the deadline (an ``AssertionError``, so a
    test reports it as a failure)."""


def wait_until(
    predicate: Callable[[], bool],
    *,
    timeout_s: float,
    what: str,
    interval_s: float = 0.1,
    alive: Callable[[], str | None] | None = None,
    ignore: tuple[type[BaseException], ...] = (),
) -> None:
    """Poll ``predicate`` until it returns true; raise ``WaitTimeout`` naming ``what``.

    ``alive`` is checked on every round and returns a reason to give up at once
    (e.g. the server process exited) or ``None``; exceptions of the ``ignore``
    types raised by ``predicate`` count as "not yet" (e.g. connection refused
    while a server starts).

    Example:
        >>> import itertools
        >>> calls = itertools.count()
        >>> wait_until(lambda: next(calls) >= 2, timeout_s=5, what="three polls", interval_s=0)
        >>> wait_until(lambda: False, timeout_s=0, what="never")
        Traceback (most recent call last):
        ...
        agora.testing.wait.WaitTimeout: timed out after 0 s waiting for never
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if predicate():
                return
        except ignore:
            pass
        if alive is not None and (reason := alive()) is not None:
            raise WaitTimeout(f"gave up waiting for {what}: {reason}")
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(interval_s)
