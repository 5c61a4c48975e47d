"""The ``agora`` command line: one Typer app, one module per command group.

Command modules are imported only when their command runs (``agora.cli.lazy``):
``agora --help`` loads Typer and this table, not the platform. Each row's help
line is the command's own first docstring line or its group's help (a test
keeps them equal).

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
from agora.cli.context import CliState
from agora.cli.lazy import LazyCommand, LazyGroup

_C = LazyCommand
COMMANDS: tuple[LazyCommand, ...] = (
    _C("serve", "agora.cli.serve:serve", "Run the API (OpenAPI docs at /docs, landing page at /)."),
    _C("worker", "agora.cli.worker:worker",
       "Consume the event bus until stopped (SIGTERM/SIGINT finish the current delivery)."),
    _C("import", "agora.cli.importer:import_file",
       "Import assets, sellers, users or events; bad lines are reported, never fatal."),
    _C("demo", "agora.cli.demo:demo",
       "Load demo sellers, users and assets, process them, record simulated traffic, train."),
    _C("keys", "agora.cli.keys:app", "Create, list and revoke API keys."),
    _C("index", "agora.cli.index:app", "Search indexes: rebuild from the catalog."),
    _C("search", "agora.cli.search:search",
       "Search the catalog: keyword, semantic or hybrid (locally or with --url)."),
    _C("moderation", "agora.cli.moderation:app",
       "Trust and safety: train text classifiers, rescan the catalog."),
    _C("tagging", "agora.cli.tagging:app",
       "Auto-tagging: tag assets, train the heads, show the taxonomy."),
    _C("train", "agora.cli.train:train",
       "Extract, label, train, evaluate, register and gate one model family."),
    _C("scheduler", "agora.cli.train:scheduler", "Run the periodic jobs until SIGTERM/SIGINT."),
    _C("models", "agora.cli.models:app",
       "Model registry: deployments, history, promote, rollback, canary."),
    _C("recommend", "agora.cli.recommend:app",
       "Recommendations: train, trending, precompute, rewards, show."),
    _C("features", "agora.cli.features:app", "Feature store: list views, materialise online."),
    _C("rank", "agora.cli.rank:app", "Ranking: train from the feature log, show a feed."),
    _C("quality", "agora.cli.quality:app",
       "Asset quality: rescan the catalog, train the anomaly model."),
    _C("review", "agora.cli.review:review",
       "Review scripts or a plugin archive: findings, verdicts, exit 2 when malicious."),
)  # fmt: skip

app = typer.Typer(
    name="agora",
    cls=LazyGroup.with_commands(COMMANDS),
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
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            envvar="AGORA_URL",
            help="A running server: search, recommend show, tagging tag, moderation queue "
            "and models ask it through the SDK instead of the local data folder.",
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option("--key", envvar="AGORA_KEY", help="API key for --url.", show_default=False),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Settings come from flags, then AGORA_* environment variables, then agora.toml."""
    ctx.obj = CliState(data_dir=data_dir, url=url or None, key=key or None)


if __name__ == "__main__":
    app()
