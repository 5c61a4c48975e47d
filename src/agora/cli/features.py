"""``agora features``: list the feature views, materialise batch features online.

Example:
    $ agora features list
    $ agora features materialize            # catalog snapshot, then offline -> online
    $ agora features materialize --no-snapshot --view asset_batch
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from agora.cli.context import open_platform, state

app = typer.Typer(help="Feature store: list views, materialise online.", no_args_is_help=True)


@app.command("list")
def list_views(ctx: typer.Context) -> None:
    """Every feature view: entity, source, TTL, owner and features."""
    with open_platform(state(ctx)) as platform:
        views = platform.features.registry.describe()
    table = Table("view", "entity", "source", "ttl", "owner", "features")
    for v in views:
        ttl = f"{v['ttl_s'] / 3600:g} h" if v["ttl_s"] else "-"
        names = ", ".join(f["name"] for f in v["features"])
        table.add_row(v["name"], v["entity"], v["source"], ttl, v["owner"], names)
    Console(width=200).print(table)


@app.command("materialize")
def materialize_cmd(
    ctx: typer.Context,
    view: Annotated[
        list[str] | None, typer.Option("--view", help="Only these views; repeat for several.")
    ] = None,
    snapshot: Annotated[
        bool, typer.Option(help="First append a catalog snapshot to the offline store.")
    ] = True,
) -> None:
    """Copy new offline rows of batch views to the online store (incremental)."""
    from agora.features.materialize import materialize, snapshot_catalog

    with open_platform(state(ctx)) as platform:
        if snapshot:
            counts = snapshot_catalog(platform.db, platform.features.offline)
            typer.echo("snapshot: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(name: str, done: int, total: int) -> None:
                if name not in tasks:
                    tasks[name] = bar.add_task(name, total=total)
                bar.update(tasks[name], completed=done)

            done = materialize(platform.features, view or None, progress=progress)
    for name, n in done.items():
        typer.echo(f"{name}: {n} entities materialised")
