"""Request bodies parsed with orjson; bad JSON is a 400 problem, wrong shape a 422."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from agora.errors import InvalidInput, MalformedRequest


async def read_json(request: Request) -> Any:
    """The body as JSON (any shape)."""
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise MalformedRequest(f"body is not valid JSON: {exc}") from None


async def read_json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    return body
