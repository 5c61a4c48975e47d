"""``agora demo``: load the demo game-asset marketplace and a SIMULATED session stream.

The catalog (CC0 Kenney sprites and 3D models vendored in ``agora/demo``) goes
through the same services as the API, so the pipeline processes it like any
upload. An admin key is created and written to ``<data_dir>/demo-admin-key.txt``.
The user sessions are simulated (see ``agora.demo.simulator``), not real data.

Example:
    $ agora demo --if-empty --sessions 500
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from agora.cli.context import cli_actor, open_platform, state

if TYPE_CHECKING:
    from agora.runtime import Platform

KEY_FILE = "demo-admin-key.txt"


def demo(
    ctx: typer.Context,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the catalog already has assets.")
    ] = False,
    sessions: Annotated[int, typer.Option(min=0, help="Simulated user sessions to record.")] = 500,
    users: Annotated[int, typer.Option(min=1, help="Demo users to create.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the demo users and sessions.")] = 7,
    train: Annotated[
        bool,
        typer.Option(help="Compute trending and train the recommenders on the simulated sessions."),
    ] = True,
) -> None:
    """Load demo sellers, users and assets, create an admin key, record simulated sessions.

    With ``--train`` (the default) the trending lists and the recommenders are
    fitted right away, so the first ``agora serve`` already personalises
    (otherwise they wait for the scheduler or the retraining triggers).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from agora.catalog import AssetService
    from agora.demo.catalog import build_demo_catalog
    from agora.demo.loader import demo_simulator, load_demo_catalog, record_simulated_sessions
    from agora.domain import Scope

    settings = state(ctx).settings()
    key_path = settings.data_dir.absolute() / KEY_FILE
    with open_platform(state(ctx), settings) as platform:
        existing = sum(AssetService(platform).count_by_status().values())
        if if_empty and existing:
            typer.echo(f"catalog already has {existing} assets: demo not loaded (--if-empty)")
            if key_path.exists():
                typer.echo(f"demo admin key file: {key_path}")
            return
        catalog = build_demo_catalog(users=users, seed=seed)
        actor = cli_actor()
        columns = (TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns) as progress:
            task = progress.add_task("demo assets", total=len(catalog.assets))
            loaded = load_demo_catalog(
                platform, catalog, actor=actor, on_asset=lambda n: progress.advance(task, n)
            )
            task = progress.add_task("simulated sessions", total=sessions)
            simulated = record_simulated_sessions(
                platform,
                sessions,
                simulator=demo_simulator(catalog, seed=seed),
                actor=actor,
                on_session=lambda n: progress.advance(task, n),
            )
        trained = _train_recommendations(platform) if train and simulated.accepted else {}
        key = platform.keys.create([Scope.ADMIN.value], name="demo-admin")
    key_path.write_text(key.token + "\n")
    key_path.chmod(0o600)
    typer.echo(
        f"sellers: {loaded.sellers}, users: {loaded.users}, assets: "
        f"{loaded.assets_created} created, {loaded.assets_existing} already there"
    )
    typer.echo(
        f"simulated sessions: {simulated.sessions} ({simulated.accepted} events "
        f"recorded, {simulated.rejected} rejected); these events are SIMULATED"
    )
    for error in simulated.errors[:5]:
        typer.echo(f"  rejected event: {error}")
    if trained:
        typer.echo("recommenders trained on the simulated sessions: " + ", ".join(sorted(trained)))
    typer.echo("assets are processed by the pipeline when a worker runs (agora serve runs one)")
    typer.echo(f"admin key saved to {key_path}")
    typer.echo(f"admin key: {key.token}")


def _train_recommendations(platform: Platform) -> dict[str, str]:
    """Trending lists plus every recommender, fitted on what was just recorded."""
    from agora.recommend.jobs import refresh_trending
    from agora.recommend.jobs import train as train_recommenders

    refresh_trending(platform)
    return {name: str(ref) for name, ref in train_recommenders(platform, tune=False).items()}
