"""Empty query parameters are absent: ``?category=&n=10`` means ``?n=10``.

HTML forms and URL templates send ``name=`` for a field left blank; taken
literally it becomes a filter on the empty string (a category nobody has) or
a validation error. This pure ASGI middleware drops every ``name=`` pair with
an empty value before routing, so every route treats a blank field as unset.

>>> drop_empty_params(b"q=tank&category=&n=10&tags=")
b'q=tank&n=10'
>>> drop_empty_params(b"")
b''
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


def drop_empty_params(query: bytes) -> bytes:
    """The query string without pairs whose value is empty."""
    if not query:
        return query
    # ``name`` with no ``=`` at all also has an empty value: dropped too.
    kept = [pair for pair in query.split(b"&") if pair.partition(b"=")[2]]
    return b"&".join(kept)


class EmptyQueryMiddleware:
    """Rewrites ``scope["query_string"]``; see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("query_string"):
            query = scope["query_string"]
            cleaned = drop_empty_params(query)
            if cleaned != query:
                scope = dict(scope)
                scope["query_string"] = cleaned
        await self.app(scope, receive, send)
