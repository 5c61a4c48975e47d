"""``agora train <family>``: run a training pipeline now, with a progress bar;
``agora scheduler``: run the periodic jobs (and task runners) until stopped.

Example:
    $ agora train ctr                 # pCTR: train, register, gate against the champion
    $ agora train ranker --queue      # hand it to the workers instead
    $ agora scheduler
"""

from __future__ import annotations

import json
import signal
import threading
from types import FrameType
from typing import Annotated, Any

import typer

from agora.cli.context import cli_actor, fail, open_platform, state
from agora.ops.logging import configure_logging

FAMILIES = (
    "ctr", "cvr", "ranker", "recommender", "tagger", "classifier", "condition", "code-review",
    "language",
)  # fmt: skip


def train(
    ctx: typer.Context,
    family: Annotated[str, typer.Argument(help=f"model family: {', '.join(FAMILIES)}")],
    end: Annotated[str | None, typer.Option(help="window end, ISO-8601 (default: now)")] = None,
    days: Annotated[float | None, typer.Option(help="training window in days (default 28)")] = None,
    queue: Annotated[
        bool, typer.Option("--queue", help="submit to the orchestrator instead of running here")
    ] = False,
    priority: Annotated[int, typer.Option(min=0, max=10)] = 5,
) -> None:
    """Extract, label, train, evaluate, register and gate one model family."""
    from agora.mlops.tasks import TaskContext, call_task
    from agora.mlops.training import FAMILIES as TASKS

    if family not in TASKS:
        fail(f"unknown family {family!r}: one of {', '.join(TASKS)}")
    params: dict[str, Any] = {"reason": f"cli: {cli_actor()}"}
    if end is not None:
        params["end"] = end
    if days is not None:
        params["days"] = days
    with open_platform(state(ctx)) as platform:
        orchestrator = platform.orchestrator()
        job_id = orchestrator.submit(
            TASKS[family], params, priority=priority, created_by=cli_actor()
        )
        if queue:
            typer.echo(job_id)
            return
        job = orchestrator.claim()
        if job is None or job["id"] != job_id:  # a worker took it first: follow it
            typer.echo(f"queued as {job_id}; follow it with GET /api/v1/pipelines/{job_id}")
            return

        class BarContext(TaskContext):
            def progress(self, percent: float, message: str | None = None) -> None:
                super().progress(percent, message)
                bar.update(int(percent) - bar.pos)
                if message:
                    typer.echo(f"  {message}")

        with typer.progressbar(length=100, label=f"train {family}") as bar:
            ctx_ = BarContext(platform.jobs, job_id)
            try:
                fn = orchestrator.registry.resolve(TASKS[family])
                result = call_task(fn, platform, ctx_, params)
            except Exception as exc:
                platform.jobs.finish(job_id, error=f"{type(exc).__name__}: {exc}")
                raise
            platform.jobs.finish(job_id, result=result)
        typer.echo(json.dumps(result, indent=2, default=str))


def scheduler(
    ctx: typer.Context,
    run_tasks: Annotated[
        bool, typer.Option(help="also run the submitted tasks here (else: agora worker does)")
    ] = True,
) -> None:
    """Run the periodic jobs until SIGTERM/SIGINT."""
    from agora.mlops.background import MlopsBackground

    settings = state(ctx).settings()
    configure_logging(settings.server.log_level, json=settings.server.log_json)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with open_platform(state(ctx), settings) as platform:
        orchestrator = platform.orchestrator()
        background = MlopsBackground(
            orchestrator,
            platform.canary_monitor,
            scheduler=platform.scheduler(orchestrator),
            # Click attribution runs with the task runners.
            attribution=platform.attribution_consumer if run_tasks else None,
            runners=run_tasks,
        )
        background.start()
        stop.wait()
        background.stop()
