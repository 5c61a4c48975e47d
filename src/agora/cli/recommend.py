"""``agora recommend``: train, refresh trending, precompute, settle bandit rewards, show a list.

Example:
    $ agora recommend train
    $ agora recommend trending && agora recommend precompute
    $ agora recommend show u-1 --algorithm smart -n 10
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from agora.cli.context import cli_actor, open_platform, state

app = typer.Typer(
    help="Recommendations: train, trending, precompute, rewards, show.", no_args_is_help=True
)


@app.command("train")
def train_cmd(
    ctx: typer.Context,
    tune: Annotated[
        bool, typer.Option(help="Learn the hybrid's blend weights on a validation split.")
    ] = True,
) -> None:
    """Fit every algorithm, evaluate it against its champion on the last day, gate it.

    The ``train.recommender`` pipeline (the same as ``agora train recommender``):
    a first version becomes champion, later ones challenger only if they beat
    the champion's NDCG@10 on the same holdout.
    """
    from agora.mlops.training.tasks import train_recommender

    with open_platform(state(ctx)) as platform:
        out = train_recommender(platform, tune=tune, reason="cli", actor=cli_actor())
    for name, model in out["models"].items():
        typer.echo(f"{name:<10} {model['model']} ({model['decision']}): {model['gate']['reason']}")


@app.command("trending")
def trending_cmd(ctx: typer.Context) -> None:
    """Recompute the trending lists (per region and category)."""
    from agora.recommend.tasks import update_trending

    with open_platform(state(ctx)) as platform:
        typer.echo(json.dumps(update_trending(platform)))


@app.command("precompute")
def precompute_cmd(ctx: typer.Context) -> None:
    """Store lists for active users (every available algorithm)."""
    from agora.recommend.tasks import precompute

    with open_platform(state(ctx)) as platform:
        typer.echo(json.dumps(precompute(platform)))


@app.command("rewards")
def rewards_cmd(ctx: typer.Context) -> None:
    """Attribute clicks/purchases within an hour to the bandit's servings."""
    from agora.recommend.tasks import settle_rewards

    with open_platform(state(ctx)) as platform:
        typer.echo(json.dumps(settle_rewards(platform)))


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    user_id: str,
    n: Annotated[int, typer.Option("-n", min=1, max=1000)] = 10,
    algorithm: Annotated[str, typer.Option()] = "smart",
    category: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Print one user's list as JSON (algorithm, model version, items); with --url,
    the server's list (as ``GET /api/v1/recommendations/{user_id}``)."""
    from agora.api.schemas.recommendations import RecommendationList
    from agora.cli.remote import echo, remote

    with remote(ctx) as client:
        if client is not None:
            answer = client.recommendations.for_user(
                user_id, n=n, algorithm=algorithm, category=category
            )
            echo(RecommendationList, answer)
            return
    with open_platform(state(ctx)) as platform:
        recs = platform.recommendations.recommend(
            user_id, n, algorithm=algorithm, category=category, use_cache=False
        )
        echo(RecommendationList, recs.to_dict())
