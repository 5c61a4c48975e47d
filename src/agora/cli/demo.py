"""``agora demo``: load the demo game-asset marketplace, process it, train what it serves.

The catalog (CC0 Kenney sprites and 3D models vendored in ``agora/demo``) goes
through the same services as the API, and the post-upload pipeline processes
it in this command, so ``agora serve`` starts on an active, indexed, moderated
catalog. The user sessions, searches and feed visits are SIMULATED (see
``agora.demo.simulator`` and ``agora.demo.traffic``), not real data; on them
the demo trains the recommenders and the ranking models through the gated
MLOps pipelines (first versions become champions). The text classifiers are
the ones shipped in the package (``agora.moderation.shipped``). An admin key
is created and written to ``<data_dir>/demo-admin-key.txt``.

Example:
    $ agora demo --if-empty --sessions 500
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from agora.cli.context import cli_actor, open_platform, state

if TYPE_CHECKING:
    from agora.demo.catalog import DemoCatalog
    from agora.demo.simulator import SessionSimulator
    from agora.demo.traffic import RankedTrafficDeps
    from agora.demo.training import DemoPipelines
    from agora.runtime import Platform

KEY_FILE = "demo-admin-key.txt"


def demo(
    ctx: typer.Context,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the catalog already has assets.")
    ] = False,
    sessions: Annotated[int, typer.Option(min=0, help="Simulated user sessions to record.")] = 500,
    users: Annotated[int, typer.Option(min=1, help="Demo users to create (u-1 .. u-N).")] = 200,
    searches: Annotated[
        int, typer.Option(min=0, help="Simulated ranked searches (with clicks) to replay.")
    ] = 300,
    feeds: Annotated[
        int, typer.Option(min=0, help="Simulated feed visits (with clicks) to replay.")
    ] = 150,
    seed: Annotated[int, typer.Option(help="Seed of the demo users and sessions.")] = 7,
    train: Annotated[
        bool,
        typer.Option(
            help="Process the uploads now and train trending, the recommenders and the "
            "ranking models on the simulated traffic (--no-train: the uploads wait for "
            "a worker, the models for the scheduler)."
        ),
    ] = True,
) -> None:
    """Load demo sellers, users and assets, process them, record simulated traffic, train.

    With ``--train`` (the default) the first ``agora serve`` already serves
    every capability with trained models: moderation (shipped classifiers),
    search, personalised recommendations and ranked search.
    """
    # Imported here: `agora --help` must not load the platform (CLI start < 1 s).
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from agora.demo.catalog import build_demo_catalog
    from agora.demo.loader import demo_simulator, load_demo_catalog, record_simulated_sessions
    from agora.domain import Scope

    settings = state(ctx).settings()
    key_path = settings.data_dir.absolute() / KEY_FILE
    with open_platform(state(ctx), settings) as platform:
        existing = sum(platform.assets.count_by_status().values())
        if if_empty and existing:
            typer.echo(f"catalog already has {existing} assets: demo not loaded (--if-empty)")
            if key_path.exists():
                typer.echo(f"demo admin key file: {key_path}")
            return
        catalog = build_demo_catalog(users=users, seed=seed)
        simulator = demo_simulator(catalog, seed=seed)
        actor = cli_actor()
        columns = (
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns) as progress:
            task = progress.add_task("demo assets", total=len(catalog.assets))
            loaded = load_demo_catalog(
                platform.db,
                platform.assets,
                platform.people,
                catalog,
                actor=actor,
                on_asset=lambda n: progress.advance(task, n),
            )
            if train:
                from agora.demo.processing import process_uploads

                task = progress.add_task("processing assets", total=loaded.assets_created)
                runner = platform.pipeline_runner()
                process_uploads(runner, on_asset=lambda n: progress.advance(task, n))
            task = progress.add_task("simulated sessions", total=sessions)
            simulated = record_simulated_sessions(
                platform.event_ingest,
                sessions,
                simulator=simulator,
                actor=actor,
                on_session=lambda n: progress.advance(task, n),
            )
        typer.echo(
            f"sellers: {loaded.sellers}, users: {loaded.users} ({catalog.users[0].user_id} .. "
            f"{catalog.users[-1].user_id}), assets: {loaded.assets_created} created, "
            f"{loaded.assets_existing} already there"
        )
        typer.echo(
            f"simulated sessions: {simulated.sessions} ({simulated.accepted} events "
            f"recorded, {simulated.rejected} rejected); these events are SIMULATED"
        )
        for error in simulated.errors[:5]:
            typer.echo(f"  rejected event: {error}")
        if train and simulated.accepted:
            _train(platform, catalog, simulator, searches=searches, feeds=feeds, seed=seed)
        else:
            typer.echo("assets are processed by the pipeline when a worker runs (agora serve)")
        key = platform.keys.create([Scope.ADMIN.value], name="demo-admin")
    key_path.write_text(key.token + "\n")
    key_path.chmod(0o600)
    typer.echo(f"admin key saved to {key_path}")
    typer.echo(f"admin key: {key.token}")


def _train(
    platform: Platform,
    catalog: DemoCatalog,
    simulator: SessionSimulator,
    *,
    searches: int,
    feeds: int,
    seed: int,
) -> None:
    """Recommenders, simulated ranked traffic, ranking models; each step reported."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from agora.demo.traffic import demo_queries, simulate_ranked_traffic
    from agora.demo.training import train_rankers, train_recommenders

    pipelines = demo_pipelines(platform)
    trained = train_recommenders(pipelines)
    typer.echo("recommenders trained on the simulated sessions: " + ", ".join(sorted(trained)))
    for name, outcome in sorted(trained.items()):
        typer.echo(f"  {name}: {outcome}")
    columns = (TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns) as progress:
        task = progress.add_task("ranked traffic", total=searches + feeds)
        traffic = simulate_ranked_traffic(
            ranked_traffic_deps(platform),
            simulator,
            demo_queries(catalog),
            searches=searches,
            feeds=feeds,
            seed=seed,
            on_visit=lambda n: progress.advance(task, n),
        )
    typer.echo(
        f"simulated ranked traffic: {traffic.searches} searches and {traffic.feeds} feed "
        f"visits, {traffic.clicks} clicks, {traffic.purchases} purchases (SIMULATED)"
    )
    for name, outcome in train_rankers(pipelines, purchases=traffic.purchases).items():
        typer.echo(f"ranking {name}: {outcome}")


def demo_pipelines(platform: Platform) -> DemoPipelines:
    """The demo's training pipelines, bound to ``platform``."""
    from functools import partial

    from agora.demo.training import DemoPipelines
    from agora.mlops.training.tasks import train_ctr, train_cvr, train_ranker, train_recommender
    from agora.recommend.jobs import refresh_trending
    from agora.recommend.jobs import train as train_ungated
    from agora.recommend.tasks import job_services

    jobs = job_services(platform)
    return DemoPipelines(
        refresh_trending=partial(refresh_trending, jobs),
        recommenders=partial(train_recommender, platform),
        recommenders_ungated=partial(train_ungated, jobs),
        rankers={
            "pctr": partial(train_ctr, platform),
            "pcvr": partial(train_cvr, platform),
            "ranker": partial(train_ranker, platform),
        },
        # Looked up when called: the ranking service is built by the replayed traffic.
        reload_rankers=lambda: platform.ranking.reload_models(),
    )


def ranked_traffic_deps(platform: Platform) -> RankedTrafficDeps:
    """What the demo's replayed ranked traffic goes through, from ``platform``."""
    from agora.demo.traffic import RankedTrafficDeps

    return RankedTrafficDeps(
        platform.ranking, platform.event_ingest, platform.stream_consumer, platform.settings.ranking
    )
