"""``agora keys``: create, list and revoke API keys.

Example:
    $ agora keys create --scope read --scope write --name shop-backend
    created API key 3f2a9c01d4e7 (scopes: read, write; name: shop-backend)
    token (shown once): agora_3f2a9c01d4e7_Yc1...
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from agora.cli.context import open_platform, state
from agora.domain import Scope

app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


@app.command("create")
def create(
    ctx: typer.Context,
    scope: Annotated[
        list[Scope], typer.Option("--scope", "-s", help="Scope to grant; repeat for several.")
    ],
    name: Annotated[str | None, typer.Option(help="A label to recognise the key by.")] = None,
    rate_limit: Annotated[
        int | None,
        typer.Option("--rate-limit", min=1, help="Requests per minute (default: the platform's)."),
    ] = None,
    quota: Annotated[
        int | None, typer.Option("--quota", min=1, help="Requests per day (default: unlimited).")
    ] = None,
) -> None:
    """Create a key. The token is printed once, as the last word of the last line."""
    with open_platform(state(ctx)) as platform:
        key = platform.keys.create(
            [s.value for s in scope],
            name=name,
            rate_limit_per_minute=rate_limit,
            quota_per_day=quota,
            actor=cli_actor(),
        )
    label = f"; name: {name}" if name else ""
    typer.echo(f"created API key {key.key_id} (scopes: {', '.join(key.scopes)}{label})")
    # Plain echo, never a wrapping console: scripts take the last word of this line.
    typer.echo(f"token (shown once): {key.token}")


def cli_actor() -> str:
    """Audit actor for operator commands: the local OS user."""
    return f"cli:{getpass.getuser()}"


@app.command("list")
def list_keys(ctx: typer.Context) -> None:
    """List keys (never their secrets)."""
    with open_platform(state(ctx)) as platform:
        keys = platform.keys.list()
    table = Table("id", "name", "scopes", "created", "revoked")
    for k in keys:
        table.add_row(
            str(k["id"]),
            str(k["name"] or ""),
            ", ".join(k["scopes"]),  # type: ignore[arg-type]
            str(k["created_at"])[:19],
            "yes" if k["revoked"] else "",
        )
    Console().print(table if keys else "no API keys yet: agora keys create --scope read")


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key id (the part after 'agora_').")],
) -> None:
    """Revoke a key; it stops working on its next request."""
    with open_platform(state(ctx)) as platform:
        platform.keys.revoke(key_id, actor=cli_actor())
    typer.echo(f"revoked API key {key_id}")
