"""``agora moderation``: train the text classifiers, rescan the catalog.

Example:
    $ agora moderation train --data ../shared/data
    $ agora moderation rescan --status active --status flagged
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from agora.cli.context import fail, open_platform, state
from agora.mlops.tasks import TaskContext

app = typer.Typer(help="Trust and safety: train text classifiers, rescan the catalog.")


class EchoProgress(TaskContext):
    """Training progress printed to the terminal (no job record)."""

    def progress(self, percent: float, message: str | None = None) -> None:
        typer.echo(f"[{percent:3.0f}%] {message or ''}")


@app.command("train")
def train(
    ctx: typer.Context,
    data: Annotated[
        Path | None,
        typer.Option(help="Folder with hate-offensive-davidson/ and sms-spam-collection/."),
    ] = None,
    sample: Annotated[
        int | None, typer.Option(help="Cap each corpus at N rows (quick runs).")
    ] = None,
    embeddings: Annotated[
        bool, typer.Option(help="Stack MiniLM sentence-embedding features on TF-IDF.")
    ] = True,
) -> None:
    """Train offensive/hate and spam classifiers (+ moderator examples) through the gate.

    The MLOps ``train.classifier`` pipeline: a first version becomes champion;
    later ones become challenger only if they beat the champion's F1 by the
    margin (``mlops.gate_margin``), else they are recorded as rejected.
    """
    from agora.mlops.training.classifier import train_classifier

    with open_platform(state(ctx)) as platform:
        folder = data or (
            Path(platform.settings.moderation.train_data_dir)
            if platform.settings.moderation.train_data_dir
            else None
        )
        if folder is None:
            fail("give --data or set AGORA_MODERATION__TRAIN_DATA_DIR")
        result = train_classifier(
            platform,
            EchoProgress(),
            data_dir=str(folder),
            sample=sample,
            reason="cli",
            actor="cli:moderation-train",
            embeddings=embeddings,
        )
        for outcome in result["models"].values():
            gate = outcome["gate"]
            typer.echo(f"{outcome['model']} ({outcome['decision']}): {gate.get('reason', '')}")
        typer.echo(f"{result['moderator_examples']} moderator examples included")


@app.command("rescan")
def rescan_command(
    ctx: typer.Context,
    status: Annotated[
        list[str] | None, typer.Option("--status", help="Asset statuses to rescan (repeatable).")
    ] = None,
) -> None:
    """Re-score the catalog with the current models; queue what now needs review."""
    from agora.moderation.rescan import RescanReport, rescan

    report = RescanReport()
    with (
        open_platform(state(ctx)) as platform,
        Progress(
            TextColumn("rescan"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            transient=False,
        ) as bar,
    ):
        task = bar.add_task("rescan", total=None)
        for done, total, latest in rescan(platform, tuple(status or ("active", "flagged"))):
            bar.update(task, completed=done, total=total)
            report = latest
    typer.echo(
        f"scanned {report.scanned}, queued {report.queued}, post-hoc cleared {report.cleared}; "
        f"decisions {report.decisions}"
    )
