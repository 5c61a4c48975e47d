"""``agora worker``: run the bus consumers (post-upload pipeline, webhooks) until
SIGTERM or SIGINT. Start several to scale out: they join the same consumer groups.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

import typer

from agora.cli.context import open_platform, state
from agora.ops.logging import configure_logging


def worker(ctx: typer.Context) -> None:
    """Consume the event bus until stopped (SIGTERM/SIGINT finish the current delivery)."""
    settings = state(ctx).settings()
    configure_logging(settings.server.log_level, json=settings.server.log_json)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    # Imported here: the worker pulls in the pipeline steps, which other
    # commands (keys, import) do not need to load.
    from agora.worker import run_worker

    with open_platform(state(ctx), settings) as platform:
        run_worker(platform, stop)
