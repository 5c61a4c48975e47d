"""A clock a test moves by hand, for code that takes ``clock: Callable[[], datetime]``.

Backoff windows, leases and expiry are then tested by advancing time, not by
waiting for it: a loaded machine cannot make a "not due yet" check flaky.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class ManualClock:
    """Aware UTC time that only moves when ``advance`` is called; thread-safe.

    Example:
        >>> clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
        >>> clock.advance(90)
        >>> clock()
        datetime.datetime(2026, 1, 1, 0, 1, 30, tzinfo=datetime.timezone.utc)
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start if start is not None else datetime.now(UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        with self._lock:
            self._now += timedelta(seconds=seconds)
