"""How many threads each model runtime of this process may use.

A worker machine runs one worker process per core by default
(``pipeline.worker_processes``); each process's ONNX Runtime and BLAS pools
then get ``cores // processes`` threads (``pipeline.intra_op_threads``), so N
processes never oversubscribe the N cores with N x N threads. The entry point
(``agora worker``) sets the plan once with ``set_intra_op_threads`` before any
model loads; every session built afterwards (``onnx_session``, the text
encoders) asks ``intra_op_threads(default)``. Unset, models keep their own
defaults (2 threads: the API process's).

Example:
    >>> plan_concurrency(None, None, cores=8)
    (8, 1)
    >>> plan_concurrency(2, None, cores=8)
    (2, 4)
    >>> plan_concurrency(None, 3, cores=2)
    (2, 3)
"""

from __future__ import annotations

import os

# Variables the BLAS and OpenMP runtimes read when they load (numpy, scikit-learn).
BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_override: int | None = None


def cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def plan_concurrency(
    processes: int | None, threads: int | None, *, cores: int | None = None
) -> tuple[int, int]:
    """(worker processes, intra-op threads per process): one process per core and
    ``cores // processes`` threads unless set."""
    n = cores or globals()["cores"]()
    procs = processes or n
    return procs, threads or max(1, n // procs)


def set_intra_op_threads(threads: int | None) -> None:
    """Fix this process's model thread count (None: models keep their defaults);
    also exported for BLAS/OpenMP pools a child process loads."""
    global _override
    _override = threads
    if threads is not None:
        for var in BLAS_ENV:
            os.environ[var] = str(threads)


def intra_op_threads(default: int) -> int:
    """The thread count a model session should use: the process plan, else ``default``."""
    return _override or default
