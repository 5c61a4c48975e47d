"""JSON Lines request bodies: read as they stream in, documented in OpenAPI.

FastAPI parses JSON and form bodies only; a JSON Lines body is read here,
line by line and bounded, and its OpenAPI request body is declared by hand
(``json_lines_body``), with each line's schema a component of the document.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel

from agora.api.deps import PlatformDep
from agora.catalog.imports import JsonLine, JsonLinesReader
from agora.errors import UnsupportedMediaType

# application/x-ndjson is the registered-in-practice name; jsonl for tools that
# use it, text/plain for ``curl --data-binary @file -H 'Content-Type: text/plain'``.
MEDIA_TYPES = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines", "text/plain")


def body_media_type(request: Request) -> str:
    """The request's media type, lower case, without parameters ("" if none)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def check_json_lines_media(media: str) -> None:
    """415 unless ``media`` is empty or one of ``MEDIA_TYPES``."""
    if media and media not in MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"send the lines as one of {', '.join(MEDIA_TYPES)}, not {media!r}"
        )


async def read_json_lines(request: Request, platform: PlatformDep) -> list[JsonLine]:
    """The body's non-blank lines: at most ``uploads.max_batch_lines`` (413 past
    it) and, per line, at most ``uploads.max_metadata_bytes`` held in memory."""
    check_json_lines_media(body_media_type(request))
    limits = platform.settings.uploads
    reader = JsonLinesReader(
        max_lines=limits.max_batch_lines, max_line_bytes=limits.max_metadata_bytes
    )
    async for chunk in request.stream():
        reader.feed(chunk)
    return reader.close()


JsonLinesBody = Annotated[list[JsonLine], Depends(read_json_lines)]


def json_lines_body(line: type[BaseModel], example: str, description: str) -> dict[str, Any]:
    """``openapi_extra`` for a route taking ``JsonLinesBody``: the request body
    in every accepted media type, each line a ``line`` object, with ``example``.

    The line model must also appear elsewhere in the document (as a response
    field, for instance) for its ``$ref`` to resolve."""
    media = {
        "schema": {"$ref": f"#/components/schemas/{line.__name__}"},
        "example": example,
    }
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {name: dict(media) for name in MEDIA_TYPES},
        }
    }
