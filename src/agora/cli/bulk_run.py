"""Run a resumable asset import with two progress bars and an end report.

The *accepted* bar moves as chunks are taken (re-sent items the server had
already accepted count as done); the *processed* bar follows the import's
status (``GET /api/v1/imports/{id}``) as the pipeline works through the
accepted assets. Without ``--defer-models`` the command waits for the last
one; with it, it returns once everything is accepted and the pipeline runs in
the background. The end report lists accepted, rejected (with each reason)
and processed.

Example:
    >>> status = run_bulk(sink, Path("listings.jsonl"), options, ui)  # doctest: +SKIP
    >>> status["accepted"], status["processed"]  # doctest: +SKIP
    (9860, 9860)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agora.cli.bulk import (
    Chunk,
    count_items,
    image_chunks,
    read_side_file,
    record_chunks,
    records,
    source_kind,
)
from agora.cli.bulk_sinks import ImportSink


@dataclass(frozen=True)
class BulkOptions:
    """What the command line asked for."""

    import_id: str
    chunk: int
    defer: bool
    wait: bool
    seller: str | None = None
    side_file: Path | None = None
    poll_s: float = 1.0


@dataclass
class BulkUi:
    """Where progress goes: ``total(n)`` once, ``accepted(n)`` per chunk,
    ``processed(done, of)`` on each poll, ``note(text)`` for pauses."""

    total: Callable[[int], None]
    accepted: Callable[[int], None]
    processed: Callable[[int, int], None]
    note: Callable[[str], None]


def _chunks(path: Path, options: BulkOptions, rejected: list[tuple[int, str]]) -> Iterator[Chunk]:
    if source_kind(path) == "images":
        rows = read_side_file(path, options.side_file)
        return image_chunks(path, rows, max(1, min(options.chunk, 16)))
    return record_chunks(records(path), options.chunk, rejected)


def run_bulk(
    sink: ImportSink,
    path: Path,
    options: BulkOptions,
    ui: BulkUi,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[dict[str, Any], list[tuple[int, str]]]:
    """Send ``path`` in chunks, complete the import and (``options.wait``) wait
    for its pipelines; the import's final status and the items rejected here
    (unreadable before sending), as (position, reason)."""
    ui.total(count_items(path))
    local_rejections: list[tuple[int, str]] = []
    previous = sink.status(options.import_id)
    if previous is not None and previous["complete"]:
        ui.note(f"import {options.import_id} was already complete")
        ui.accepted(previous["accepted"] + previous["rejected"])
        return _follow(sink, options, ui, sleep, previous), local_rejections
    for chunk in _chunks(path, options, local_rejections):
        sink.send(chunk, options.import_id, defer=options.defer, seller=options.seller)
        ui.accepted(len(chunk))
    ui.accepted(len(local_rejections))
    status = sink.complete(options.import_id)
    return _follow(sink, options, ui, sleep, status), local_rejections


def _follow(
    sink: ImportSink,
    options: BulkOptions,
    ui: BulkUi,
    sleep: Callable[[float], None],
    status: dict[str, Any],
) -> dict[str, Any]:
    ui.processed(status["processed"], status["accepted"])
    while options.wait and status["status"] == "running":
        sleep(options.poll_s)
        status = sink.status(options.import_id) or status
        ui.processed(status["processed"], status["accepted"])
    return status


def end_report(
    name: str, status: dict[str, Any], local: list[tuple[int, str]], max_listed: int
) -> list[str]:
    """The lines the command prints at the end: one summary, then each rejection."""
    rejected = status["rejected"] + len(local)
    total = status["accepted"] + rejected
    reasons = sorted(
        [(r["line"], r.get("name"), f"{r['status']}: {r['error']}") for r in status["rejections"]]
        + [(line, None, reason) for line, reason in local]
    )
    lines = [
        f"import {status['import_id']}: imported {status['accepted']} of {total} records from "
        f"{name} as assets ({rejected} failed); processed {status['processed']} "
        f"({status['failed']} failed)"
        + ("; the pipeline runs in the background" if status["status"] == "running" else "")
    ]
    for line, image, reason in reasons[:max_listed]:
        where = f"{image} (image {line})" if image else f"line {line}"
        lines.append(f"{where}: {reason}")
    if rejected > len(reasons[:max_listed]):
        lines.append(
            f"... and {rejected - len(reasons[:max_listed])} more: "
            f"GET /api/v1/imports/{status['import_id']}?rejections_limit=10000"
        )
    return lines
