"""The ``agora`` command line: one Typer app, one module per command group.

Example:
    $ agora demo --if-empty && agora serve --port 8000
    $ agora keys create --scope read --name dashboard
    $ agora import listings.jsonl --kind assets
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agora import __version__
from agora.cli import demo, importer, keys, serve, worker
from agora.cli import features as features
from agora.cli import index as index_cli
from agora.cli import models as models_cli
from agora.cli import moderation as moderation_cli
from agora.cli import rank as rank_cli
from agora.cli import recommend as recommend_cli
from agora.cli import tagging as tagging_cli
from agora.cli import train as train_cli
from agora.cli.context import CliState

app = typer.Typer(
    name="agora",
    help="Agora: self-hosted intelligence platform for online marketplaces.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold API keys
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"agora {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Embedded data folder (default: $AGORA_DATA_DIR, else ./.agora)."
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Settings come from flags, then AGORA_* environment variables, then agora.toml."""
    ctx.obj = CliState(data_dir=data_dir)


app.command("serve")(serve.serve)
app.command("worker")(worker.worker)
app.command("import")(importer.import_file)
app.command("demo")(demo.demo)
app.add_typer(keys.app, name="keys")
app.add_typer(index_cli.app, name="index")
app.add_typer(moderation_cli.app, name="moderation")
app.add_typer(tagging_cli.app, name="tagging")
app.command("train")(train_cli.train)
app.command("scheduler")(train_cli.scheduler)
app.add_typer(models_cli.app, name="models")
app.add_typer(recommend_cli.app, name="recommend")
app.add_typer(features.app, name="features")
app.add_typer(rank_cli.app, name="rank")

if __name__ == "__main__":
    app()
