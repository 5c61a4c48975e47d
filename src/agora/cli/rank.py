"""``agora rank``: train the ranking models from the feature log (the MLOps pipelines
``train.ctr``, ``train.cvr``, ``train.ranker``), show a ranked feed.

Example:
    $ agora rank train
    $ agora rank feed u-1 --explain
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from agora.cli.context import open_platform, state

app = typer.Typer(help="Ranking: train from the feature log, show a feed.", no_args_is_help=True)


@app.command("train")
def train_cmd(ctx: typer.Context) -> None:
    """Train pCTR, pCVR and LambdaMART from the labelled feature log through the MLOps
    pipelines: register, gate against the champion, promote or canary."""
    from agora.errors import InvalidInput
    from agora.mlops.training.tasks import train_ctr, train_cvr, train_ranker

    with open_platform(state(ctx)) as platform:
        for label, pipeline in (("pctr", train_ctr), ("pcvr", train_cvr), ("ranker", train_ranker)):
            try:
                out = pipeline(platform, actor="cli:agora rank train")
            except InvalidInput as exc:  # e.g. no purchase in the window yet for pCVR
                typer.echo(f"{label:<7} skipped: {exc}")
                continue
            typer.echo(f"{label:<7} {out['model']}: {out['decision']} ({out['gate']['reason']})")


@app.command("feed")
def feed_cmd(
    ctx: typer.Context,
    user_id: str,
    n: Annotated[int, typer.Option("-n", help="Items to return.")] = 20,
    explain: Annotated[bool, typer.Option(help="SHAP contributions and trust breakdown.")] = False,
) -> None:
    """Print the ranked "For You" feed of a user as JSON."""
    with open_platform(state(ctx)) as platform:
        ranked = platform.ranking.feed(user_id, n=n, explain=explain)
        platform.ranking.feature_log.flush()
    typer.echo(json.dumps(ranked.to_dict(), indent=2))
