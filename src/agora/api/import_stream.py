"""Streamed bodies of a resumable import (``POST /api/v1/assets:batch?import_id=``).

A JSON Lines body is handed to the import a chunk of lines at a time as it
arrives, so a body of any size costs one chunk of memory; a Parquet body is
spooled to a temporary file (Parquet keeps its index at the end) and read a
row group at a time. Before each chunk the pipeline backlog is checked: past
its bound the request ends with 503 and Retry-After, the lines accepted so
far are kept, and the client re-sends with the same import id.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import IO

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from agora.catalog.import_sessions import ChunkOutcome, ImportItem, ImportSessions
from agora.catalog.import_sources import json_line_item, parquet_items
from agora.catalog.imports import JsonLine, JsonLinesReader
from agora.errors import Overloaded, PayloadTooLarge

CHUNK_ITEMS = 256
"""Items handed to the import at a time (and checked against the backlog)."""
PARQUET_MEDIA_TYPES = ("application/vnd.apache.parquet", "application/x-parquet")
_SPOOL_IN_MEMORY = 8 * 1024 * 1024


@dataclass(frozen=True)
class StreamTarget:
    """Where a streamed body goes: the import, who sends it, and how lines are
    numbered (``first_line``: the body's first line's position in the source)."""

    sessions: ImportSessions
    import_id: str
    actor: str
    deferred: bool
    first_line: int
    max_line_bytes: int


class _Totals:
    def __init__(self) -> None:
        self.out = ChunkOutcome()

    def add(self, chunk: ChunkOutcome) -> None:
        self.out.accepted += chunk.accepted
        self.out.rejected += chunk.rejected
        self.out.skipped += chunk.skipped
        self.out.rejections.extend(chunk.rejections[: max(0, 1000 - len(self.out.rejections))])


def _send(target: StreamTarget, items: list[ImportItem], totals: _Totals) -> None:
    try:
        target.sessions.admit(deferred=target.deferred)
    except Overloaded as exc:
        # Tell the client how far this request got before it was refused.
        exc.extra.update(accepted=totals.out.accepted, skipped=totals.out.skipped)
        raise
    totals.add(target.sessions.add(target.import_id, items, target.actor, deferred=target.deferred))


def _shifted(target: StreamTarget, lines: list[JsonLine]) -> list[ImportItem]:
    offset = target.first_line - 1
    return [
        json_line_item(JsonLine(line.number + offset, line.data), target.max_line_bytes)
        for line in lines
    ]


async def stream_json_lines(request: Request, target: StreamTarget) -> ChunkOutcome:
    """Import the body's lines as they arrive, ``CHUNK_ITEMS`` at a time."""
    reader = JsonLinesReader(max_lines=None, max_line_bytes=target.max_line_bytes)
    totals = _Totals()
    async for data in request.stream():
        reader.feed(data)
        if len(reader.lines) >= CHUNK_ITEMS:
            await run_in_threadpool(_send, target, _shifted(target, reader.take()), totals)
    reader.close()
    if rest := reader.take():
        await run_in_threadpool(_send, target, _shifted(target, rest), totals)
    return totals.out


def _chunks(items: Iterable[ImportItem]) -> Iterator[list[ImportItem]]:
    it = iter(items)
    while chunk := list(islice(it, CHUNK_ITEMS)):
        yield chunk


def _import_parquet(spool: IO[bytes], target: StreamTarget) -> ChunkOutcome:
    totals = _Totals()
    spool.seek(0)
    for chunk in _chunks(parquet_items(spool, target.first_line)):
        _send(target, chunk, totals)
    return totals.out


async def stream_parquet(request: Request, target: StreamTarget, limit: int) -> ChunkOutcome:
    """Spool the Parquet body (at most ``limit`` bytes, else 413) and import its rows."""
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
        size = 0
        async for data in request.stream():
            size += len(data)
            if size > limit:
                raise PayloadTooLarge(f"Parquet body exceeds {limit} bytes; split the file")
            spool.write(data)
        return await run_in_threadpool(_import_parquet, spool, target)
