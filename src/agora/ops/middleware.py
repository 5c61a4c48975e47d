"""Request middleware: latency metrics, body size limit, request id, access log.

A pure ASGI middleware (no ``BaseHTTPMiddleware``: that one copies every body
through an extra task and costs ~2x on small requests).

* Metrics: ``REQUEST_LATENCY`` by method, route *template* (e.g.
  ``/api/v1/assets/{asset_id}``; unmatched paths are ``<unmatched>``) and
  status; ``REQUEST_ERRORS`` for every status >= 400. Raw paths are never
  labels: one time series per asset id would exhaust Prometheus.
* Body limit: a request whose ``Content-Length`` exceeds
  ``uploads.max_request_bytes`` gets 413 problem+json before the app reads a
  byte; a chunked body is counted as it streams and cut off at the limit. A
  resumable JSON Lines import (``assets:batch?import_id=``) is exempt: it
  holds one chunk of bounded lines at a time.
* ``X-Request-ID``: echoed when the client sends a sane one, else generated;
  returned on every response, available as ``request.state.request_id``.
* One JSON log line per request on logger ``agora.access``.
* Fallback accounting: each request runs in a :func:`~agora.ops.fallbacks.request_scope`;
  an answered model-serving request is counted once, and once more if it fell
  back (the fallback rate's denominator and numerator).
* Interactive requests (all but bulk writes) are counted in
  :func:`~agora.ops.interactive.interactive`, so in-process pipeline batches
  yield to them.

Example:
    >>> app = FastAPI()  # doctest: +SKIP
    >>> install_ops(app, settings)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import TYPE_CHECKING, Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agora.api.problems import MEDIA_TYPE, PROBLEM_BASE
from agora.ops.fallbacks import close_request, request_scope
from agora.ops.interactive import interactive
from agora.ops.metrics import REQUEST_ERRORS, REQUEST_LATENCY
from agora.security.ratelimit import create_rate_limiter

if TYPE_CHECKING:
    from fastapi import FastAPI

    from agora.config import Settings

access_log = logging.getLogger("agora.access")
REQUEST_ID_HEADER = "x-request-id"
UNMATCHED_ROUTE = "<unmatched>"
# Probes and scrapes arrive every few seconds; their lines go to DEBUG.
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
STREAMED_IMPORT_PATH = "/api/v1/assets:batch"
"""Its JSON Lines bodies with an ``import_id`` stream past ``uploads.max_request_bytes``."""
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class _BodyTooLargeError(Exception):
    """Raised from ``receive`` to stop the app reading an oversized body."""


def _problem_413(limit: int, path: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = orjson.dumps(
        {
            "type": PROBLEM_BASE + "payload-too-large",
            "title": "Payload too large",
            "status": 413,
            "detail": f"request body exceeds the limit of {limit} bytes",
            "instance": path,
            "limit": limit,
        }
    )
    headers = [
        (b"content-type", MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    return headers, body


def route_template(scope: Scope) -> str:
    """The matched route's template with its mount prefix (``/api/v1/assets/{asset_id}``).

    FastAPI mounts included routers as sub-routers, so ``scope["route"].path``
    is relative to the router; the prefix is recovered from the raw path,
    where the template's static head begins.
    """
    route = scope.get("route")
    template: str | None = getattr(route, "path", None)
    if not template:
        return UNMATCHED_ROUTE
    path = scope.get("path", "")
    if "{" not in template:
        # No parameter: the matched path is the template with its prefix
        # (the search below would find a "/" template at the path's start).
        return str(path)
    head = template.split("{", 1)[0]
    at = path.find(head) if head else -1
    return path[:at] + template if at > 0 else template


class OpsMiddleware:
    """ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp, *, max_request_bytes: int) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        incoming = (
            dict(scope.get("headers") or []).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        )
        request_id = incoming if _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        limit = sys.maxsize if _streamed_import(scope) else self.max_request_bytes
        exchange = _Exchange(scope, receive, send, request_id, limit)
        fallbacks, token = request_scope()
        try:
            if _is_bulk(scope):
                await exchange.run(self.app)
            else:
                # Background batches in this process wait while this request runs.
                with interactive():
                    await exchange.run(self.app)
        finally:
            template = route_template(scope)
            close_request(token, fallbacks, scope.get("method", ""), template, exchange.status)
            self._observe(scope, template, exchange.status, time.perf_counter() - start, request_id)

    @staticmethod
    def _observe(scope: Scope, template: str, status: int, elapsed: float, request_id: str) -> None:
        method = scope.get("method", "")
        labels = (method, template, str(status))
        REQUEST_LATENCY.labels(*labels).observe(elapsed)
        if status >= 400:
            REQUEST_ERRORS.labels(*labels).inc()
        principal = scope.get("state", {}).get("principal")
        level = logging.DEBUG if template in QUIET_ROUTES and status < 400 else logging.INFO
        access_log.log(
            level,
            "%s %s %s",
            method,
            template,
            status,
            extra={
                "method": method,
                "route": template,
                "path": scope.get("path", ""),
                "status": status,
                "duration_ms": round(elapsed * 1000, 3),
                "key_id": getattr(principal, "key_id", None),
                "request_id": request_id,
            },
        )


def _streamed_import(scope: Scope) -> bool:
    """A JSON Lines import sent with an ``import_id``: read a chunk of lines at a
    time, each line bounded, so the whole body may be of any size."""
    if not scope.get("path", "").endswith(STREAMED_IMPORT_PATH):
        return False
    query = scope.get("query_string", b"")
    if not re.search(rb"(^|&)import_id=", query):
        return False
    media = dict(scope.get("headers") or []).get(b"content-type", b"")
    return b"parquet" not in media.lower()


def _is_bulk(scope: Scope) -> bool:
    """Bulk writes (``assets:batch``, imports) are not interactive: the pipeline
    need not step aside for them."""
    path = str(scope.get("path", ""))
    return path.endswith(":batch") or "/imports" in path


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers") or []:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0  # h11 / httptools reject a malformed length before we see it
    return 0


def install_ops(app: FastAPI, settings: Settings) -> None:
    """Add the ops middleware and the per-key rate limiter (``app.state.limiter``)."""
    app.add_middleware(OpsMiddleware, max_request_bytes=settings.uploads.max_request_bytes)
    app.state.limiter = create_rate_limiter(settings)


class _Exchange:
    """One HTTP request through the middleware: its body limit, the request-id
    header on the response, and the status that was sent (500 until one is)."""

    def __init__(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, limit: int
    ) -> None:
        self.scope, self._receive, self._send = scope, receive, send
        self.request_id, self.limit = request_id, limit
        self.status = 500
        self.started = False
        self.too_large = False
        self.received = 0

    async def run(self, app: ASGIApp) -> None:
        """Call ``app``; a body over the limit (declared or streamed) is answered 413."""
        try:
            if _declared_length(self.scope) > self.limit:
                await self.send_413()
            else:
                await app(self.scope, self.receive, self.send)
        except _BodyTooLargeError:
            if not self.started:
                await self.send_413()
        except Exception:
            if self.too_large and not self.started:
                await self.send_413()
            else:
                self.status = 500
                raise

    async def send_413(self) -> None:
        headers, body = _problem_413(self.limit, self.scope.get("path", ""))
        headers.append((REQUEST_ID_HEADER.encode(), self.request_id.encode()))
        self.status, self.started = 413, True
        await self._send({"type": "http.response.start", "status": 413, "headers": headers})
        await self._send({"type": "http.response.body", "body": body})

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.too_large = True
                raise _BodyTooLargeError
        return message

    async def send(self, message: Message) -> None:
        if self.too_large:
            # The app answered after we cut its body off (usually a 400 for
            # "cannot parse"); the honest answer is 413.
            if not self.started and message["type"] == "http.response.start":
                await self.send_413()
            return
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.started = True
            message["headers"] = [
                *message.get("headers", []),
                (REQUEST_ID_HEADER.encode(), self.request_id.encode()),
            ]
        await self._send(message)
