"""Read commands against a running server (``--url`` / ``AGORA_URL``) through the SDK.

A command that can run either way asks ``remote(ctx)``: a ``Client`` when a
URL was given, else ``None`` (use the local data folder). Answers are printed
through the API's own response schemas in both cases, so the two print alike.

Example:
    $ agora --url http://127.0.0.1:8000 --key $AGORA_KEY search tank
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

from agora.cli.context import fail, state

if TYPE_CHECKING:
    from pydantic import BaseModel

    from agora.client import Client


@contextmanager
def remote(ctx: typer.Context) -> Iterator[Client | None]:
    """The SDK client for ``--url`` (errors become a clean exit 1), or ``None``."""
    cli = state(ctx)
    if not cli.url:
        yield None
        return
    import httpx

    from agora.client import ApiError, Client

    client = Client(cli.url, cli.key)
    try:
        yield client
    except ApiError as exc:
        fail(str(exc))
    except httpx.TransportError as exc:
        fail(f"cannot reach {cli.url}: {exc}")
    finally:
        client.close()


def echo(schema: type[BaseModel], answer: Any) -> None:
    """Print an answer (a model from the SDK, or a local dict) as the API's JSON."""
    model = answer if isinstance(answer, schema) else schema.model_validate(answer)
    typer.echo(model.model_dump_json(indent=2, by_alias=True))
