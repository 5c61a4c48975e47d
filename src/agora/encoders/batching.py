"""Dynamic micro-batching: concurrent callers share one model call.

A model call has a fixed cost (session dispatch, thread wake-up) plus a cost
per item, so 16 requests that arrive within a few milliseconds are cheaper as
one batch than as 16 calls. ``MicroBatcher`` runs one daemon thread: it takes
the first waiting request, gathers whatever else arrives within ``max_wait_ms``
(up to ``max_batch`` items), makes one call and hands each caller its own rows.
It waits only while other callers are already inside ``submit`` (their
requests not yet run): a lone request runs at once instead of paying the wait
window (3 ms of a ~15 ms search query), and under concurrency the requests
that arrive while a model call runs form the next batch anyway.
Callers block on a ``Future``, so sync FastAPI handlers (which run in a thread
pool) and pipeline workers use it directly.

Example:
    >>> import numpy as np
    >>> b = MicroBatcher(lambda xs: np.array([[len(x)] for x in xs]), max_wait_ms=1)
    >>> b.submit(["ab", "abc"]).tolist()
    [[2], [3]]
    >>> b.close()
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")


@dataclass
class _Request(Generic[T]):
    items: list[T]
    future: Future[np.ndarray] = field(default_factory=Future)


_STOP = object()


class MicroBatcher(Generic[T]):
    """Batches concurrent ``submit`` calls into calls of ``fn(items) -> rows``.

    ``fn`` must return one row per item, in order. A request larger than
    ``max_batch`` is never split (its rows stay one call); it simply runs alone.
    An exception in ``fn`` is raised in every caller of that batch.
    """

    def __init__(
        self,
        fn: Callable[[list[T]], np.ndarray],
        *,
        max_batch: int = 32,
        max_wait_ms: float = 3.0,
        name: str = "microbatcher",
    ) -> None:
        self._fn = fn
        self.max_batch = max_batch
        self.max_wait_s = max_wait_ms / 1000.0
        self._queue: queue.Queue[_Request[T] | object] = queue.Queue()
        self._name = name
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        #: Number of model calls made (observability and tests).
        self.calls = 0
        # Callers whose request has not run yet (entered submit, not answered).
        self._pending = 0
        self._pending_lock = threading.Lock()

    def _count(self, delta: int) -> None:
        with self._pending_lock:
            self._pending += delta

    def submit(self, items: Sequence[T], timeout: float | None = None) -> np.ndarray:
        """Rows for ``items``; blocks until the batch that holds them has run."""
        if self._closed:
            raise RuntimeError(f"{self._name} is closed")
        if not items:
            return self._fn([])
        request: _Request[T] = _Request(list(items))
        self._ensure_thread()
        self._count(1)
        self._queue.put(request)
        return request.future.result(timeout)

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        carry: _Request[T] | object | None = None
        while True:
            first = carry if carry is not None else self._queue.get()
            carry = None
            if first is _STOP:
                self._drain()
                return
            assert isinstance(first, _Request)
            batch: list[_Request[T]] = [first]
            size = len(first.items)
            deadline = time.monotonic() + self.max_wait_s
            while size < self.max_batch and len(batch) < self._pending:
                remaining = deadline - time.monotonic()
                try:
                    nxt = (
                        self._queue.get(timeout=remaining)
                        if remaining > 0
                        else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
                if not isinstance(nxt, _Request) or size + len(nxt.items) > self.max_batch:
                    carry = nxt  # the stop marker, or a request for the next batch
                    break
                batch.append(nxt)
                size += len(nxt.items)
            self._execute(batch)

    def _execute(self, batch: list[_Request[T]]) -> None:
        self._count(-len(batch))
        items = [item for req in batch for item in req.items]
        try:
            rows = self._fn(items)
            self.calls += 1
            if len(rows) != len(items):
                raise RuntimeError(f"{self._name}: {len(rows)} rows for {len(items)} items")
        # Whatever happens (even KeyboardInterrupt), every waiting caller must be released.
        except BaseException as exc:  # noqa: BLE001
            for req in batch:
                req.future.set_exception(exc)
            return
        start = 0
        for req in batch:
            req.future.set_result(rows[start : start + len(req.items)])
            start += len(req.items)

    def _drain(self) -> None:
        # A submit that raced with close() must not wait forever.
        while True:
            try:
                req = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(req, _Request):
                self._count(-1)
                req.future.set_exception(RuntimeError(f"{self._name} is closed"))

    def close(self) -> None:
        """Stop the thread after the requests already queued have run."""
        self._closed = True
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=30)
