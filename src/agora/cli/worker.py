"""``agora worker``: run the bus consumers (post-upload pipeline, webhooks) until
SIGTERM or SIGINT. Start several to scale out: they join the same consumer groups.

By default one worker process runs per core (``pipeline.worker_processes``),
each with ``cores // processes`` model threads (``pipeline.intra_op_threads``)
and lowered priority (``pipeline.worker_nice``), so the API's requests on the
same machine come first. The parent process is one of the workers; the others
are spawned children that stop when it stops. With embedded backends (files
one process writes) the worker stays one process whose models use every core.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

import typer

from agora.cli.context import open_platform, state
from agora.ops.logging import configure_logging

if TYPE_CHECKING:
    from agora.config import Settings


def _prepare(settings: Settings, threads: int) -> None:
    """Thread plan and priority of one worker process (before any model loads)."""
    from agora.encoders.threads import set_intra_op_threads

    set_intra_op_threads(threads)
    if settings.pipeline.worker_nice and hasattr(os, "nice"):
        os.nice(settings.pipeline.worker_nice)


def _serve(settings: Settings, stop: threading.Event) -> None:
    # Imported here: the worker pulls in the pipeline steps, which other
    # commands (keys, import) do not need to load.
    from agora.runtime import Platform
    from agora.worker import run_worker

    platform = Platform.build(settings)
    try:
        run_worker(platform, stop)
    finally:
        platform.close()


def _die_with_parent(parent: int) -> None:
    """A child must not outlive a killed parent: an orphan would go on consuming
    with nobody left to stop it. On Linux the kernel sends it SIGKILL when the
    parent dies (its deliveries are redelivered, as for any crashed worker)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _child(settings: Settings, threads: int, parent: int) -> None:
    """Entry point of a spawned worker process: runs until SIGTERM."""
    _die_with_parent(parent)
    configure_logging(settings.server.log_level, json=settings.server.log_json)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    _prepare(settings, threads)
    _serve(settings, stop)


def worker(ctx: typer.Context) -> None:
    """Consume the event bus until stopped (SIGTERM/SIGINT finish the current delivery)."""
    from agora.encoders.threads import plan_concurrency

    settings = state(ctx).settings()
    configure_logging(settings.server.log_level, json=settings.server.log_json)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    wanted = settings.pipeline.worker_processes
    if settings.bus.url.startswith("memory"):
        # Embedded backends live in this machine's files, written by one process:
        # the worker is one process, its threads take all the cores.
        wanted = 1
    processes, threads = plan_concurrency(wanted, settings.pipeline.intra_op_threads)
    # Spawned, not forked: a child must not inherit model sessions or locks.
    spawn = multiprocessing.get_context("spawn")
    children = [
        spawn.Process(
            target=_child, args=(settings, threads, os.getpid()), name=f"agora-worker-{i}"
        )
        for i in range(1, processes)
    ]
    for child in children:
        child.start()
    _prepare(settings, threads)
    from agora.worker import run_worker

    try:
        with open_platform(state(ctx), settings) as platform:
            run_worker(platform, stop)
    finally:
        for child in children:
            if child.pid is not None and child.is_alive():
                os.kill(child.pid, signal.SIGTERM)
        for child in children:
            child.join(timeout=30)
