"""One stream aggregator at a time: the windows live in its memory, so two processes
splitting the ``features`` group's events would each count half. Every worker process
starts a :class:`StreamConsumer`; only the holder of this lease consumes, the others
wait and take over when it stops (a dead holder's lease lapses).

Embedded: an exclusive ``flock`` on a file beside the online store (released by the
kernel when the process dies). Redis: ``SET NX PX`` lease renewed while held.

Example:
    >>> import tempfile
    >>> lease = FileLease(tempfile.mkdtemp() + "/stream.lock")
    >>> lease.acquire(), lease.acquire()
    (True, True)
"""

from __future__ import annotations

import fcntl
import os
import uuid
from pathlib import Path
from typing import IO, Any, Protocol


class Lease(Protocol):
    def acquire(self) -> bool:
        """True while this process holds (or just took, or renewed) the lease."""
        ...

    def release(self) -> None: ...


class FileLease:
    """Exclusive non-blocking ``flock``; held until :meth:`release` or process exit."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fh: IO[str] | None = None

    def acquire(self) -> bool:
        if self._fh is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a")  # noqa: SIM115 - held open for the lease's lifetime
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return False
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh
        return True

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


class RedisLease:
    """``SET key token NX PX ttl``; renewed by the holder on every :meth:`acquire`."""

    _RENEW = (
        "if redis.call('GET', KEYS[1]) == ARGV[1] then "
        "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end"
    )

    def __init__(self, client: Any, key: str, ttl_s: float = 15.0) -> None:
        self.client, self.key, self.ttl_ms = client, key, int(ttl_s * 1000)
        self.token = uuid.uuid4().hex
        self._renew = client.register_script(self._RENEW)

    def acquire(self) -> bool:
        if self._renew(keys=[self.key], args=[self.token, self.ttl_ms]):
            return True
        return bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))

    def release(self) -> None:
        if self.client.get(self.key) == self.token.encode():
            self.client.delete(self.key)
