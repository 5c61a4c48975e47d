"""MicroBatcher: concurrent callers are merged into few calls and each gets its own rows."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from agora.encoders.batching import MicroBatcher


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.lock = threading.Lock()

    def __call__(self, items: list[int]) -> np.ndarray:
        with self.lock:
            self.batches.append(list(items))
        # Row i carries its item and its square, so a caller can check it got its own rows.
        return np.array([[x, x * x] for x in items], dtype=np.int64).reshape(len(items), 2)


def test_many_threads_get_their_own_rows_in_few_calls() -> None:
    rec = Recorder()
    batcher = MicroBatcher(rec, max_batch=64, max_wait_ms=20)
    barrier = threading.Barrier(48)

    def call(caller: int) -> tuple[int, np.ndarray]:
        items = [caller * 1000 + j for j in range(caller % 3 + 1)]
        barrier.wait()
        return caller, batcher.submit(items)

    with ThreadPoolExecutor(48) as pool:
        results = list(pool.map(call, range(48)))
    batcher.close()
    for caller, rows in results:
        expected = [caller * 1000 + j for j in range(caller % 3 + 1)]
        assert rows[:, 0].tolist() == expected
        assert rows[:, 1].tolist() == [x * x for x in expected]
    total_items = sum(caller % 3 + 1 for caller in range(48))
    assert sum(len(b) for b in rec.batches) == total_items
    # 48 concurrent callers must have shared model calls.
    assert len(rec.batches) < 48
    assert all(len(b) <= 64 for b in rec.batches)
    assert batcher.calls == len(rec.batches)


def test_a_request_is_never_split_and_large_ones_run_alone() -> None:
    rec = Recorder()
    batcher = MicroBatcher(rec, max_batch=4, max_wait_ms=1)
    rows = batcher.submit(list(range(10)))
    assert rows[:, 0].tolist() == list(range(10))
    assert rec.batches == [list(range(10))]
    batcher.close()


def test_an_error_reaches_every_caller_of_the_batch_and_the_batcher_survives() -> None:
    def fn(items: list[int]) -> np.ndarray:
        if -1 in items:
            raise ValueError("bad item")
        return np.asarray(items).reshape(-1, 1)

    batcher = MicroBatcher(fn, max_batch=8, max_wait_ms=1)
    with pytest.raises(ValueError, match="bad item"):
        batcher.submit([1, -1])
    assert batcher.submit([5]).tolist() == [[5]]
    batcher.close()


def test_wrong_row_count_is_an_error_not_a_silent_mixup() -> None:
    batcher = MicroBatcher(lambda items: np.zeros((1, 1)), max_batch=8, max_wait_ms=1)
    with pytest.raises(RuntimeError, match="rows for"):
        batcher.submit([1, 2, 3])
    batcher.close()


def test_closed_batcher_refuses_work() -> None:
    batcher = MicroBatcher(lambda items: np.zeros((len(items), 1)), max_wait_ms=1)
    assert batcher.submit([1]).shape == (1, 1)
    batcher.close()
    with pytest.raises(RuntimeError, match="closed"):
        batcher.submit([1])


def test_a_lone_request_does_not_wait_for_company() -> None:
    # A one-minute window: a lone caller must still be answered at once.
    b = MicroBatcher(lambda xs: np.array([[len(x)] for x in xs]), max_wait_ms=60_000)
    try:
        for word in ("a", "bb", "ccc"):
            assert b.submit([word], timeout=10).tolist() == [[len(word)]]
        assert b.calls == 3
    finally:
        b.close()
