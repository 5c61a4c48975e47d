"""``agora import`` for a resumable asset import: the sink, the bars, the report.

Example:
    $ agora --url http://127.0.0.1:8000 --key $AGORA_KEY import listings.jsonl
    accepted   ━━━━━━━━━━━━━━━━━━━━━━━ 9867/9867
    processed  ━━━━━━━━━━━━━━━━━━━━━━━ 9860/9860
    import listings-9c1e03d7aa: imported 9860 of 9867 records from listings.jsonl as assets
    (7 failed); processed 9860 (0 failed)
    line 7: 422: invalid metadata: title: Field required
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from agora.cli.bulk import default_import_id, read_side_file
from agora.cli.bulk_run import BulkOptions, BulkUi, end_report, run_bulk
from agora.cli.bulk_sinks import ImportFailed, ImportSink, LocalSink, RemoteSink
from agora.cli.context import cli_actor, fail, open_platform, state
from agora.errors import AgoraError

MAX_PRINTED_ERRORS = 200


@contextmanager
def _sink(ctx: typer.Context, note: BulkUi) -> Iterator[tuple[ImportSink, bool]]:
    """The sink, and whether a pipeline runs beside it (a server does; this
    process does not)."""
    cli = state(ctx)
    if cli.url:
        remote = RemoteSink(cli.url, cli.key, on_wait=note.note)
        try:
            yield remote, True
        finally:
            remote.close()
        return
    with open_platform(cli) as platform:
        yield LocalSink(platform, cli_actor()), False


def import_resumable(
    ctx: typer.Context,
    file: Path,
    import_id: str | None,
    defer: bool,
    wait: bool,
    chunk: int,
    seller: str | None,
    side_file: Path | None,
) -> None:
    """Stream ``file`` (or an image folder) as a resumable import and print its report."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    import_id = import_id or default_import_id(file)
    if file.is_dir():
        try:  # a bad side file is bad input: say so before anything is sent
            read_side_file(file, side_file)
        except AgoraError as exc:
            fail(exc.detail, code=2)
    with Progress(
        TextColumn("[bold]{task.description:<10}"), BarColumn(), MofNCompleteColumn()
    ) as progress:
        sent = progress.add_task("accepted", total=None)
        done = progress.add_task("processed", total=None)

        def note(text: str) -> None:
            progress.console.print(text, markup=False, highlight=False, soft_wrap=True)

        ui = BulkUi(
            total=lambda n: progress.update(sent, total=n),
            accepted=lambda n: progress.advance(sent, n),
            processed=lambda n, of: progress.update(done, completed=n, total=of),
            note=note,
        )
        try:
            with _sink(ctx, ui) as (sink, pipeline_here):
                options = BulkOptions(
                    import_id,
                    chunk,
                    defer,
                    wait=wait and not defer and pipeline_here,
                    seller=seller,
                    side_file=side_file,
                )
                status, local = run_bulk(sink, file, options, ui)
        except ImportFailed as exc:
            fail(f"{exc}; re-run with --import-id {import_id} to resume")
        except AgoraError as exc:
            fail(exc.detail, code=2)
    for line in end_report(file.name, status, local, MAX_PRINTED_ERRORS):
        typer.echo(line)
    if not pipeline_here and status["status"] == "running":
        typer.echo("the pipeline processes them when `agora serve` or `agora worker` runs")
    if status["rejected"] or local:
        raise typer.Exit(1)
