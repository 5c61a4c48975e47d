"""``agora quality``: re-run the quality steps over the catalog, train the anomaly model.

Example:
    $ agora quality rescan                         # active, flagged and pending assets
    $ agora quality rescan --status active --step scan --step scores
    $ agora quality train-anomaly
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from agora.cli.context import open_platform, state

app = typer.Typer(help="Asset quality: rescan the catalog, train the anomaly model.")


@app.command("rescan")
def rescan_command(
    ctx: typer.Context,
    status: Annotated[
        list[str] | None, typer.Option("--status", help="Asset statuses to rescan (repeatable).")
    ] = None,
    step: Annotated[
        list[str] | None,
        typer.Option(
            "--step",
            help="Steps to re-run (repeatable; default: integrity, completeness, scan, "
            "duplicates, models3d, scores; what they require runs too).",
        ),
    ] = None,
) -> None:
    """Re-run the quality steps over the catalog; ban new malware hits, report new holds."""
    from agora.quality.rescan import QUALITY_STEPS, QualityRescanReport, rescan

    report = QualityRescanReport()
    with (
        open_platform(state(ctx)) as platform,
        Progress(
            TextColumn("quality rescan"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            transient=False,
        ) as bar,
    ):
        task = bar.add_task("rescan", total=None)
        statuses = tuple(status or ("active", "flagged", "pending"))
        deps = platform.quality_rescan_deps()
        for done, total, latest in rescan(deps, statuses, tuple(step or QUALITY_STEPS)):
            bar.update(task, completed=done, total=total)
            report = latest
    typer.echo(
        f"rescanned {report.scanned} assets with {', '.join(report.steps)}: "
        f"{report.blocked} banned (malware), {report.held} newly held, {report.failed} failed"
    )


@app.command("train-anomaly")
def train_anomaly_command(
    ctx: typer.Context,
    holdout_share: Annotated[
        float, typer.Option(help="Newest share of the assets held out for evaluation.")
    ] = 0.3,
) -> None:
    """Train the anomaly model on the catalog's scores, evaluate and gate it."""
    from agora.cli.moderation import EchoProgress
    from agora.quality.risk.tasks import train_anomaly_task

    with open_platform(state(ctx)) as platform:
        out = train_anomaly_task(
            platform,
            EchoProgress(),
            holdout_share=holdout_share,
            reason="cli",
            actor="cli:quality-train-anomaly",
        )
    gate = out["gate"]
    typer.echo(f"{out['model']} ({out['decision']}): {gate.get('reason', '')}")
