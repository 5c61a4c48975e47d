"""``agora serve``: the API gateway on uvicorn.

One process (the default) runs the API and, with ``run_workers_in_process``,
the background workers in threads: one command is a whole platform. With
``--workers N`` (N > 1) uvicorn starts N API processes from the app factory
``agora.api.factory:app_from_env``; background workers then run in exactly one
separate ``agora worker`` process, started and stopped by this command, because
N copies of the in-process workers would compete for the embedded queue, and
Prometheus metrics are aggregated through a fresh ``PROMETHEUS_MULTIPROC_DIR``.

Example:
    $ agora serve --host 127.0.0.1 --port 8000
    $ agora serve --port 8000 --workers 4
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from agora.cli.context import CliState, open_platform, state

if TYPE_CHECKING:
    from agora.config import Settings


def _serve_many(settings: Settings, workers: int) -> None:
    import uvicorn

    data_dir = settings.data_dir.absolute()
    metrics_dir = data_dir / "prometheus-multiproc"
    # Stale files from a previous run would be summed into the new counters.
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    background = settings.server.run_workers_in_process
    # The children read their settings from the environment: pass on what the
    # flags changed, and keep the in-process workers out of the API processes.
    os.environ.update(
        {
            "AGORA_DATA_DIR": str(data_dir),
            "AGORA_SERVER__HOST": settings.server.host,
            "AGORA_SERVER__PORT": str(settings.server.port),
            "AGORA_SERVER__RUN_WORKERS_IN_PROCESS": "false",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        }
    )
    # Migrate once here, so the API processes never race on the schema.
    with open_platform(CliState(), settings):
        pass
    worker_proc = None
    if background:
        worker_proc = subprocess.Popen([sys.executable, "-m", "agora.cli.main", "worker"])
    try:
        uvicorn.run(
            "agora.api.factory:app_from_env",
            factory=True,
            host=settings.server.host,
            port=settings.server.port,
            workers=workers,
            log_config=None,
        )
    finally:
        if worker_proc is not None:
            worker_proc.terminate()
            try:
                worker_proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker_proc.kill()


def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default from settings: 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port (default from settings: 8000).")
    ] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="API processes (default: 1).")] = None,
) -> None:
    """Run the API (OpenAPI docs at /docs, landing page at /)."""
    import uvicorn

    from agora.ops.logging import configure_logging

    settings = state(ctx).settings()
    settings.server.host = host or settings.server.host
    settings.server.port = port or settings.server.port
    settings.server.workers = workers or settings.server.workers
    configure_logging(settings.server.log_level, json=settings.server.log_json)
    if settings.server.workers > 1:
        _serve_many(settings, settings.server.workers)
        return
    from agora.api.app import create_app

    with open_platform(state(ctx), settings) as platform:
        uvicorn.run(
            create_app(platform),
            host=settings.server.host,
            port=settings.server.port,
            log_config=None,
        )
