"""``agora keys``: create, list and revoke API keys, on the local data folder or,
with ``--url`` (``AGORA_URL``) and an admin ``--key``, through a running server's
``/api/v1/keys``. Both print alike.

Example:
    $ agora keys create --scope read --scope write --name shop-backend
    created API key 3f2a9c01d4e7 (scopes: read, write; name: shop-backend)
    token (shown once): agora_3f2a9c01d4e7_Yc1...
    $ agora --url https://agora.example --key $ADMIN_KEY keys list
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

import typer

from agora.cli.context import cli_actor, open_platform, state
from agora.cli.remote import remote
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
    scopes = [s.value for s in scope]
    with remote(ctx) as client:
        if client is not None:
            made = client.keys.create(
                scopes, name=name, rate_limit_per_minute=rate_limit, quota_per_day=quota
            )
            _announce(made.id, made.token, [s.value for s in made.scopes], name)
            return
    with open_platform(state(ctx)) as platform:
        key = platform.keys.create(
            scopes,
            name=name,
            rate_limit_per_minute=rate_limit,
            quota_per_day=quota,
            actor=cli_actor(),
        )
    _announce(key.key_id, key.token, key.scopes, name)


def _announce(key_id: str, token: str, scopes: list[str], name: str | None) -> None:
    label = f"; name: {name}" if name else ""
    typer.echo(f"created API key {key_id} (scopes: {', '.join(scopes)}{label})")
    # Plain echo, never a wrapping console: scripts take the last word of this line.
    typer.echo(f"token (shown once): {token}")


@app.command("list")
def list_keys(
    ctx: typer.Context,
    active: Annotated[bool, typer.Option("--active", help="Only keys not revoked.")] = False,
) -> None:
    """List keys (never their secrets)."""
    with remote(ctx) as client:
        if client is not None:
            keys = client.keys.iterate(include_revoked=not active)
            _print_table(k.model_dump(mode="json") for k in keys)
            return
    with open_platform(state(ctx)) as platform:
        _print_table(k for k in platform.keys.list() if not (active and k["revoked"]))


def _print_table(rows: Iterable[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "name", "scopes", "limits", "created", "revoked")
    count = 0
    for k in rows:
        count += 1
        limits = [
            f"{k['rate_limit_per_minute']}/min" if k.get("rate_limit_per_minute") else "",
            f"{k['quota_per_day']}/day" if k.get("quota_per_day") else "",
        ]
        table.add_row(
            str(k["id"]),
            str(k["name"] or ""),
            ", ".join(k["scopes"]),
            " ".join(x for x in limits if x),
            str(k["created_at"])[:19],
            "yes" if k["revoked"] else "",
        )
    Console().print(table if count else "no API keys yet: agora keys create --scope read")


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key id (the part after 'agora_').")],
) -> None:
    """Revoke a key; it stops working on its next request."""
    with remote(ctx) as client:
        if client is not None:
            client.keys.revoke(key_id)
            typer.echo(f"revoked API key {key_id}")
            return
    with open_platform(state(ctx)) as platform:
        platform.keys.revoke(key_id, actor=cli_actor())
    typer.echo(f"revoked API key {key_id}")
