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

app = typer.Typer(help="Trust and safety: train text classifiers, rescan the catalog.")


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
) -> None:
    """Train offensive/hate and spam classifiers (+ moderator examples), save, promote."""
    from agora.moderation.queue import ModerationQueue
    from agora.moderation.training import Example, train_text_models

    with open_platform(state(ctx)) as platform:
        folder = data or (
            Path(platform.settings.moderation.train_data_dir)
            if platform.settings.moderation.train_data_dir
            else None
        )
        if folder is None:
            fail("give --data or set AGORA_MODERATION__TRAIN_DATA_DIR")
        examples = [
            Example(row.text, {k: int(v) for k, v in row.labels.items()})
            for row in ModerationQueue(platform).examples()
        ]
        refs = train_text_models(
            platform.models, folder, examples=examples, sample=sample, progress=typer.echo
        )
        for ref, metrics in refs.values():
            shown = ", ".join(
                f"{k}={v:.3f}" for k, v in metrics.items() if k.endswith(("f1", "roc_auc"))
            )
            typer.echo(f"{ref} (champion): {shown}")
        typer.echo(f"{len(examples)} moderator examples included")


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
