"""A multipart/form-data body parsed entirely in memory.

Starlette's form parser spools every file part over 1 MB to a temporary file
on disk; eKYC photos must never touch disk unencrypted (seed 001), so the
eKYC route reads the (size-limited) body and parses it here with
``python-multipart``'s push parser into bytes.

Example:
    >>> body = (b'--b\\r\\nContent-Disposition: form-data; name="a"; filename="x"\\r\\n\\r\\n'
    ...         b'hi\\r\\n--b--\\r\\n')
    >>> parse_memory_form(body, "multipart/form-data; boundary=b")
    {'a': [b'hi']}
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from agora.errors import InvalidInput, MalformedRequest, PayloadTooLarge


def parse_memory_form(body: bytes, content_type: str) -> dict[str, list[bytes]]:
    """Field name -> the parts' bytes, in order (files and plain fields alike)."""
    from python_multipart.multipart import MultipartParser, parse_options_header

    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise InvalidInput("send multipart/form-data")
    parts: dict[str, list[bytes]] = {}
    state: dict[str, Any] = {}

    def begin() -> None:
        state.clear()
        state.update(headers={}, field=b"", value=b"", data=bytearray())

    def field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def header_end() -> None:
        state["headers"][state["field"].lower()] = state["value"]
        state["field"], state["value"] = b"", b""

    def data(chunk: bytes, start: int, end: int) -> None:
        state["data"] += chunk[start:end]

    def end() -> None:
        _, disposition = parse_options_header(state["headers"].get(b"content-disposition"))
        name = disposition.get(b"name")
        if name is not None:
            parts.setdefault(name.decode(errors="replace"), []).append(bytes(state["data"]))

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": begin,
            "on_header_field": field,
            "on_header_value": value,
            "on_header_end": header_end,
            "on_part_data": data,
            "on_part_end": end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except Exception as exc:  # noqa: BLE001 - python-multipart raises its own error types
        raise MalformedRequest(f"malformed multipart body: {exc}") from None
    return parts


async def read_memory_form(request: Request, limit: int) -> dict[str, list[bytes]]:
    """The request's multipart body, at most ``limit`` bytes, parsed in memory."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"the request body exceeds {limit} bytes")
    return parse_memory_form(bytes(body), request.headers.get("content-type", ""))
