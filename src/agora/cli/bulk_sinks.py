"""Where ``agora import`` sends a resumable import: a server, or this machine.

``RemoteSink`` posts each chunk to the API (``--url``): JSON lines to
``POST /api/v1/assets:batch?import_id=...``, images to
``POST /api/v1/imports/{id}/images``. A 503 or 429 is waited out for its
Retry-After and the same chunk sent again, as is a dropped connection: the
server skips what it already accepted, so nothing is lost or doubled.
``LocalSink`` feeds the same import service in this process; the pipeline then
runs in ``agora serve`` or ``agora worker`` on the same data folder.

Example:
    >>> sink = RemoteSink("http://127.0.0.1:8000", key, on_wait=print)  # doctest: +SKIP
    >>> sink.send(chunk, "listings-1", defer=False)["accepted"]  # doctest: +SKIP
    500
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from agora.cli.bulk import Chunk
from agora.errors import AgoraError

if TYPE_CHECKING:
    from agora.runtime import Platform

RETRY_STATUSES = frozenset({429, 503})
MAX_TRANSPORT_RETRIES = 5


class ImportSink(Protocol):
    """Takes chunks of one import and reports on it."""

    def send(self, chunk: Chunk, import_id: str, *, defer: bool, seller: str | None) -> Any:
        """Add the chunk; the request's outcome (accepted, rejected, skipped)."""

    def complete(self, import_id: str) -> dict[str, Any]:
        """No more chunks; the import's status."""

    def status(self, import_id: str) -> dict[str, Any] | None:
        """The import's status and report, or None if the server has no such import."""


def _jsonl(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(line, default=str).encode() + b"\n" for line in lines)


class ImportFailed(Exception):
    """The server refused a whole request (not one item): stop the import."""


def _problem(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail") or response.text)
    except ValueError:
        return response.text


class RemoteSink:
    """Chunks over HTTP, honouring Retry-After."""

    def __init__(
        self,
        url: str,
        key: str | None,
        *,
        on_wait: Callable[[str], None],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``on_wait(message)`` says why the import pauses; ``sleep`` waits."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=300.0)
        self.on_wait, self.sleep = on_wait, sleep

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        failures = 0
        while True:
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                failures += 1
                if failures > MAX_TRANSPORT_RETRIES:
                    raise ImportFailed(f"cannot reach the server: {exc}") from None
                self.on_wait(f"connection lost ({exc}); re-sending in {failures} s")
                self.sleep(float(failures))
                continue
            if response.status_code not in RETRY_STATUSES:
                return response
            wait = _retry_after(response.headers.get("retry-after"))
            self.on_wait(f"server busy ({_problem(response)}); waiting {wait:g} s")
            self.sleep(wait)

    def _answer(self, response: httpx.Response, ok: int) -> Any:
        if response.status_code == 404:
            return None
        if response.status_code != ok:
            raise ImportFailed(f"{response.status_code}: {_problem(response)}")
        return response.json()

    def send(self, chunk: Chunk, import_id: str, *, defer: bool, seller: str | None) -> Any:
        params: dict[str, Any] = {"import_id": import_id, "first_line": chunk.first}
        if defer:
            params["defer"] = "true"
        if chunk.lines:
            return self._answer(
                self._request(
                    "POST",
                    "/api/v1/assets:batch",
                    params=params,
                    content=_jsonl(chunk.lines),
                    headers={"Content-Type": "application/x-ndjson"},
                ),
                202,
            )
        params.pop("import_id")
        if seller:
            params["seller_id"] = seller
        side = _jsonl([{"file": name} | row for name, row in chunk.rows.items()])
        files = [("metadata", ("metadata.jsonl", side, "application/x-ndjson"))]
        files += [
            ("images", (p.name, p.read_bytes(), "application/octet-stream")) for p in chunk.images
        ]
        path = f"/api/v1/imports/{import_id}/images"
        return self._answer(self._request("POST", path, params=params, files=files), 202)

    def complete(self, import_id: str) -> dict[str, Any]:
        answer = self._answer(self._request("POST", f"/api/v1/imports/{import_id}/complete"), 200)
        if answer is None:
            raise ImportFailed(f"import {import_id!r} not found")
        return dict(answer)

    def status(self, import_id: str) -> dict[str, Any] | None:
        answer = self._answer(self._request("GET", f"/api/v1/imports/{import_id}"), 200)
        return None if answer is None else dict(answer)


def _retry_after(value: str | None) -> float:
    try:
        return max(0.5, float(value or 1))
    except ValueError:
        return 1.0  # an HTTP date: rare from Agora; a short wait and ask again


class LocalSink:
    """Chunks into this process's platform (no back-pressure: no pipeline runs here)."""

    def __init__(self, platform: Platform, actor: str) -> None:
        """Imports as ``actor`` into ``platform``."""
        self.sessions, self.actor = platform.import_sessions(), actor
        self.max_line_bytes = platform.settings.uploads.max_metadata_bytes

    def send(self, chunk: Chunk, import_id: str, *, defer: bool, seller: str | None) -> Any:
        from agora.catalog import Upload
        from agora.catalog.import_sources import image_item, record_item

        try:
            deferred = self.sessions.open(import_id, self.actor, defer=defer)
        except AgoraError as exc:
            raise ImportFailed(exc.detail) from None
        if chunk.lines:
            items = [record_item(chunk.first + i, line) for i, line in enumerate(chunk.lines)]
        else:
            items = [
                image_item(
                    chunk.first + i,
                    Upload(name=p.name, data=p.read_bytes()),
                    chunk.rows.get(p.name),
                    seller,
                )
                for i, p in enumerate(chunk.images)
            ]
        out = self.sessions.add(import_id, items, self.actor, deferred=deferred)
        return {"accepted": out.accepted, "rejected": out.rejected, "skipped": out.skipped}

    def complete(self, import_id: str) -> dict[str, Any]:
        return self.sessions.complete(import_id, self.actor)

    def status(self, import_id: str) -> dict[str, Any] | None:
        try:
            return self.sessions.status(import_id)
        except AgoraError:
            return None
