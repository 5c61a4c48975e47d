"""``agora moderation``: train the text classifiers, export them, rescan the catalog.

The package ships trained classifiers (``agora.moderation.shipped``), so a
fresh install moderates text without training; ``train`` retrains them
through the gate, ``export`` writes the serving champions as shippable
artefacts.

Example:
    $ agora moderation train                 # finds ../shared/data, or give --data
    $ agora moderation export --out src/agora/moderation/artifacts
    $ agora moderation rescan --status active --status flagged
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from agora.cli.context import fail, open_platform, state
from agora.mlops.tasks import TaskContext

app = typer.Typer(help="Trust and safety: train text classifiers, rescan the catalog.")


class EchoProgress(TaskContext):
    """Training progress printed to the terminal (no job record): a line when the
    step changes, and inside a long step (embedding batches, folds) at most one
    line every ``every_s`` seconds."""

    def __init__(self, every_s: float = 2.0) -> None:
        super().__init__()
        self.every_s = every_s
        self._step: str | None = None
        self._last = -float("inf")

    def progress(self, percent: float, message: str | None = None) -> None:
        text = message or ""
        step = re.sub(r"\d+", "#", text)  # "fold 2/4" and "fold 3/4" are one step
        now = time.monotonic()
        if step != self._step or now - self._last >= self.every_s:
            typer.echo(f"[{percent:3.0f}%] {text}")
            self._step, self._last = step, now


@app.command("train")
def train(
    ctx: typer.Context,
    data: Annotated[
        Path | None,
        typer.Option(
            help="Folder with hate-offensive-davidson/ and sms-spam-collection/ "
            "(default: AGORA_MODERATION__TRAIN_DATA_DIR, else ../shared/data or "
            "shared/data beside the working directory or the checkout)."
        ),
    ] = None,
    sample: Annotated[
        int | None, typer.Option(help="Cap each corpus at N rows (quick runs).")
    ] = None,
    embeddings: Annotated[
        bool, typer.Option(help="Stack MiniLM sentence-embedding features on TF-IDF.")
    ] = True,
    model: Annotated[
        list[str] | None,
        typer.Option(help="Train only this classifier (moderation-toxicity, moderation-spam)."),
    ] = None,
) -> None:
    """Train offensive/hate and spam classifiers (+ moderator examples) through the gate.

    The MLOps ``train.classifier`` pipeline: a first version becomes champion;
    later ones become challenger only if they beat the champion's F1 by the
    margin (``mlops.gate_margin``), else they are recorded as rejected.
    """
    from agora.mlops.training.tasks import train_classifier
    from agora.moderation.datasets import default_data_dirs, find_training_data

    settings = state(ctx).settings()
    configured = settings.moderation.train_data_dir
    looked = [data] if data else [Path(configured)] if configured else default_data_dirs()
    folder = find_training_data(looked)
    if folder is None:
        where = ", ".join(str(p) for p in looked)
        missing = "it lacks" if data or configured else "none of them holds"
        fail(
            f"no training data: looked in {where} ({missing} "
            "hate-offensive-davidson/labeled_data.csv and sms-spam-collection/SMSSpamCollection). "
            "Pass --data DIR with both corpora (in a checkout: --data ../shared/data) or set "
            "AGORA_MODERATION__TRAIN_DATA_DIR. The package's shipped classifiers serve "
            "without training."
        )
    typer.echo(f"training data: {folder}")
    with open_platform(state(ctx), settings) as platform:
        result = train_classifier(
            platform,
            EchoProgress(),
            data_dir=str(folder),
            sample=sample,
            reason="cli",
            actor="cli:moderation-train",
            embeddings=embeddings,
            only=model or None,
        )
        for outcome in result["models"].values():
            gate = outcome["gate"]
            typer.echo(f"{outcome['model']} ({outcome['decision']}): {gate.get('reason', '')}")
        typer.echo(f"{result['moderator_examples']} moderator examples included")


@app.command("export")
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Folder for the artefacts and MANIFEST.json.")],
) -> None:
    """Write the serving champion classifiers as shippable artefacts (no pickle) plus
    MANIFEST.json: data sources, licences and checksums, held-out figures, file checksums.

    This is how ``agora/moderation/artifacts`` was made (after ``agora moderation train``).
    """
    from agora.moderation.provider import NAMES
    from agora.moderation.shipped import export_shipped

    with open_platform(state(ctx)) as platform:
        manifest = export_shipped(
            platform.models,
            list(NAMES),
            out,
            command="agora moderation train --data ../shared/data && "
            f"agora moderation export --out {out}",
        )
    for name, entry in manifest["models"].items():
        f1 = entry["held_out"].get("f1", float("nan"))
        typer.echo(
            f"{name}: {entry['file']} ({entry['bytes'] / 1e6:.1f} MB) from "
            f"{entry['source_version']}, held-out F1 {f1:.3f}"
        )


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
        statuses = tuple(status or ("active", "flagged"))
        for done, total, latest in rescan(platform.rescan_deps(), statuses):
            bar.update(task, completed=done, total=total)
            report = latest
    typer.echo(
        f"scanned {report.scanned}, queued {report.queued}, post-hoc cleared {report.cleared}; "
        f"decisions {report.decisions}"
    )


@app.command("queue")
def queue_command(
    ctx: typer.Context,
    queue_state: Annotated[
        str,
        typer.Option(
            "--state",
            help="pending (every undecided item), open, escalated, appealed, approved, rejected.",
        ),
    ] = "pending",
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=500)] = 20,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """The review queue, highest priority first (locally or with --url)."""
    from agora.api.schemas.moderation import ModerationQueuePage
    from agora.cli.remote import echo, remote

    with remote(ctx) as client:
        if client is not None:
            page = client.moderation.queue(state=queue_state, limit=limit, offset=offset)
            echo(ModerationQueuePage, page)
            return
    from agora.moderation.queue import QueueFilter

    with open_platform(state(ctx)) as platform:
        flt = QueueFilter(state=queue_state, limit=limit, offset=offset)
        echo(ModerationQueuePage, platform.moderation_queue.items(flt))
