"""``agora models``: registry workflow from the shell.

Example:
    $ agora models list
    $ agora models history ranking-pctr
    $ agora models rollback ranking-pctr --reason "CTR fell after 4"
    $ agora models promote ranking-pctr 5 --reason "A/B winner"
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from agora.cli.context import cli_actor, open_platform, state
from agora.cli.remote import echo, remote

app = typer.Typer(help="Model registry: deployments, history, promote, rollback, canary.")

Reason = Annotated[str, typer.Option("--reason", "-r", help="why (kept in the history)")]


def _echo(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


@app.command("list")
def list_models(ctx: typer.Context) -> None:
    """Registered models with champion and challenger (locally or with --url)."""
    with remote(ctx) as client:
        if client is not None:
            for model in client.models.all().models:
                champion, challenger = (
                    model.aliases.get("champion"),
                    model.aliases.get("challenger"),
                )
                typer.echo(f"{model.name}\tchampion={champion}\tchallenger={challenger}")
            return
    with open_platform(state(ctx)) as platform:
        for name in platform.models.models():
            dep = platform.model_registry.deployment(name)
            typer.echo(f"{name}\tchampion={dep.champion}\tchallenger={dep.challenger}")


@app.command("history")
def history(ctx: typer.Context, name: str) -> None:
    """Promotion history: when, action, version, who, why (locally or with --url)."""
    with remote(ctx) as client:
        if client is not None:
            for p in client.models.history(name).history:
                prev = f" (was {p.previous_version})" if p.previous_version else ""
                typer.echo(
                    f"{p.at.isoformat()}\t{p.action}\t{p.version}{prev}\t{p.actor}\t{p.reason}"
                )
            return
    with open_platform(state(ctx)) as platform:
        for h in platform.model_registry.history(name):
            prev = f" (was {h.previous_version})" if h.previous_version else ""
            typer.echo(f"{h.at.isoformat()}\t{h.action}\t{h.version}{prev}\t{h.actor}\t{h.reason}")


@app.command("rollback")
def rollback(ctx: typer.Context, name: str, reason: Reason = "rollback from the CLI") -> None:
    """Restore the previous champion (effective from the next request)."""
    with open_platform(state(ctx)) as platform:
        _echo(platform.model_registry.rollback(name, actor=cli_actor(), reason=reason).to_dict())


@app.command("promote")
def promote(
    ctx: typer.Context,
    name: str,
    version: Annotated[str | None, typer.Argument(help="default: the challenger")] = None,
    reason: Reason = "promoted from the CLI",
) -> None:
    """Make a version (default: the challenger) the champion."""
    with open_platform(state(ctx)) as platform:
        dep = platform.model_registry.promote(name, version, actor=cli_actor(), reason=reason)
        _echo(dep.to_dict())


@app.command("challenge")
def challenge(
    ctx: typer.Context,
    name: str,
    version: str,
    reason: Reason = "canary started from the CLI",
    share: Annotated[float | None, typer.Option(min=0.0, max=1.0)] = None,
) -> None:
    """Start a canary of ``version`` by hand (bypasses the gate; recorded)."""
    with open_platform(state(ctx)) as platform:
        dep = platform.model_registry.challenge(
            name, version, actor=cli_actor(), reason=reason, canary_share=share
        )
        _echo(dep.to_dict())


@app.command("abort-canary")
def abort_canary(
    ctx: typer.Context, name: str, reason: Reason = "canary stopped from the CLI"
) -> None:
    """Stop the canary: every user back on the champion."""
    with open_platform(state(ctx)) as platform:
        _echo(
            platform.model_registry.abort_canary(name, actor=cli_actor(), reason=reason).to_dict()
        )


@app.command("canary")
def canary(ctx: typer.Context, name: str) -> None:
    """Per-version canary figures and what the judge would decide now (or with --url)."""
    from agora.api.schemas.models import CanaryVerdict

    with remote(ctx) as client:
        if client is not None:
            echo(CanaryVerdict, client.models.canary(name))
            return
    from agora.mlops.canary_judge import CanaryJudge

    with open_platform(state(ctx)) as platform:
        _echo(CanaryJudge(platform.model_registry, platform.settings.mlops).judge(name).to_dict())
