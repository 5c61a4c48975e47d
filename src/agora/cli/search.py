"""``agora search``: search the catalog from the shell, locally or on a server.

Example:
    $ agora search "red tank" --mode keyword --limit 5
    $ agora --url http://127.0.0.1:8000 --key $AGORA_KEY search tank
"""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from agora.cli.context import open_platform, state
from agora.cli.remote import echo, remote


def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to look for.")],
    mode: Annotated[str, typer.Option(help="hybrid (default), keyword or semantic.")] = "hybrid",
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 10,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Search the catalog: keyword, semantic or hybrid (locally or with --url)."""
    from agora.api.schemas.search import SearchResponse

    if mode not in ("hybrid", "keyword", "semantic"):
        raise typer.BadParameter("choose hybrid, keyword or semantic", param_hint="--mode")
    with remote(ctx) as client:
        if client is not None:
            echo(SearchResponse, client.search.query(query, mode=mode, limit=limit, offset=offset))
            return
    from agora.search.base import SearchQuery
    from agora.search.render import render

    chosen: Literal["hybrid", "keyword", "semantic"] = mode  # type: ignore[assignment]
    with open_platform(state(ctx)) as platform:
        result = platform.search.search(SearchQuery(query, mode=chosen, offset=offset, limit=limit))
        echo(SearchResponse, render(result, query))
