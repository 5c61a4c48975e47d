"""``agora import FILE``: bulk-load assets, sellers, users or events from JSON Lines or CSV.

Records go through the same catalog services as the API. Each bad record is
reported with its line number and skipped; the import always runs to the end
and prints a summary (exit status 1 when any record failed, so scripts notice).

CSV cells are text: ``tags``, ``files`` and ``images`` are split on ``;`` or
``|``; ``attributes`` and ``context`` hold a JSON object; ``lat``/``lon`` of
an asset become its ``geo``. ``files``/``images`` are local paths, relative to
the import file's folder, read and uploaded with the asset.

Example:
    $ agora import listings.jsonl
    line 7: invalid metadata: title: Field required
    imported 99 of 100 records from listings.jsonl as assets (1 failed)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

# The package resolves its services on first attribute use: `agora import --help`
# does not load the database layer.
import agora.catalog as catalog
from agora.cli.context import cli_actor, fail, open_platform, state
from agora.cli.records import Record, count_records, detect_format, read_records
from agora.errors import AgoraError, InvalidInput

if TYPE_CHECKING:
    from agora.runtime import Platform

EVENT_BATCH = 500
MAX_PRINTED_ERRORS = 200


class Kind(StrEnum):
    AUTO = "auto"
    ASSETS = "assets"
    EVENTS = "events"
    USERS = "users"
    SELLERS = "sellers"


def guess_kind(data: dict[str, Any]) -> Kind:
    """The kind a record looks like, from its keys."""
    keys = set(data)
    if {"type", "user_id", "asset_id"} <= keys:
        return Kind.EVENTS
    if "title" in keys:
        return Kind.ASSETS
    if keys & {"trust_score", "verified", "banned", "seller_id", "name"}:
        return Kind.SELLERS
    if keys & {"user_id", "region", "lat", "lon"}:
        return Kind.USERS
    raise InvalidInput(
        f"cannot tell what kind of records these are (keys: {sorted(keys)}); pass --kind"
    )


def _split(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [p.strip() for p in re.split(r"[;|]", str(value)) if p.strip()]


def _json_object(value: Any, field: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise InvalidInput(f"{field} must be a JSON object") from None
    return value


def _read(base: Path, name: Any) -> catalog.Upload:
    path = (base / str(name)).expanduser()
    if not path.is_file():
        raise InvalidInput(f"file not found: {path}")
    return catalog.Upload(name=path.name, data=path.read_bytes())


def _person_id(data: dict[str, Any], field: str) -> tuple[str, dict[str, Any]]:
    body = dict(data)
    entity_id = body.pop("id", None) or body.pop(field, None)
    body.pop(field, None)
    if not entity_id:
        raise InvalidInput(f"missing 'id' (or '{field}')")
    if "attributes" in body:
        body["attributes"] = _json_object(body["attributes"], "attributes")
    return str(entity_id), body


class Importer:
    """Applies records of one kind; ``apply`` returns per-record errors (None = ok)."""

    def __init__(self, platform: Platform, kind: Kind, base: Path, actor: str) -> None:
        self.platform, self.kind, self.base, self.actor = platform, kind, base, actor

    def _asset(self, data: dict[str, Any]) -> None:
        meta = dict(data)
        files = [_read(self.base, p) for p in _split(meta.pop("files", []))]
        images = [_read(self.base, p) for p in _split(meta.pop("images", []))]
        if "tags" in meta:
            meta["tags"] = _split(meta["tags"])
        if "attributes" in meta:
            meta["attributes"] = _json_object(meta["attributes"], "attributes")
        if "geo" in meta:
            meta["geo"] = _json_object(meta["geo"], "geo")
        elif "lat" in meta or "lon" in meta:
            meta["geo"] = {"lat": meta.pop("lat", None), "lon": meta.pop("lon", None)}
        self.platform.assets.create(meta, files, images, self.actor)

    def _one(self, data: dict[str, Any]) -> None:
        people = self.platform.people
        if self.kind == Kind.ASSETS:
            self._asset(data)
        elif self.kind == Kind.USERS:
            people.upsert_user(*_person_id(data, "user_id"), self.actor)
        else:
            people.upsert_seller(*_person_id(data, "seller_id"), self.actor)

    def _event(self, data: dict[str, Any]) -> dict[str, Any]:
        event = dict(data)
        if isinstance(event.get("value"), str):
            try:
                event["value"] = float(event["value"])
            except ValueError:
                raise InvalidInput("value must be a number") from None
        if "context" in event:
            event["context"] = _json_object(event["context"], "context")
        return event

    def apply(self, records: list[Record]) -> list[str | None]:
        """Errors aligned with ``records``; every record is tried."""
        errors: list[str | None] = [r.error for r in records]
        if self.kind == Kind.EVENTS:
            batch: list[tuple[int, dict[str, Any]]] = []
            for i, r in enumerate(records):
                if r.data is not None:
                    try:
                        batch.append((i, self._event(r.data)))
                    except AgoraError as exc:
                        errors[i] = exc.detail
            if batch:
                results = self.platform.event_ingest.record([e for _, e in batch], self.actor)
                for (i, _), res in zip(batch, results, strict=True):
                    if not res["accepted"]:
                        errors[i] = str(res.get("error"))
            return errors
        for i, r in enumerate(records):
            if r.data is None:
                continue
            try:
                self._one(r.data)
            except AgoraError as exc:
                errors[i] = exc.detail
            except (OSError, ValueError, TypeError) as exc:  # unreadable file, odd value
                errors[i] = f"{type(exc).__name__}: {exc}"
        return errors


def _batches(records: Any, size: int) -> Any:
    batch: list[Record] = []
    for r in records:
        batch.append(r)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def run_import(
    platform: Platform,
    path: Path,
    kind: Kind,
    actor: str,
    report: Callable[[int, str], None],
    advance: Callable[[int], None],
) -> tuple[int, int, Kind]:
    """Import ``path``; returns (ok, failed, kind). ``report(line, error)`` per failure."""
    fmt = detect_format(path)
    records = read_records(path, fmt)
    ok = failed = 0
    importer: Importer | None = None
    for batch in _batches(records, EVENT_BATCH):
        if importer is None:
            if kind == Kind.AUTO:
                first = next((r.data for r in batch if r.data is not None), None)
                kind = guess_kind(first) if first is not None else Kind.ASSETS
            importer = Importer(platform, kind, path.parent, actor)
        size = 1 if kind != Kind.EVENTS else len(batch)
        for start in range(0, len(batch), size):
            chunk = batch[start : start + size]
            for r, err in zip(chunk, importer.apply(chunk), strict=True):
                if err is None:
                    ok += 1
                else:
                    failed += 1
                    report(r.line, err)
            advance(len(chunk))
    return ok, failed, kind


def _resumable(file: Path, kind: Kind, url: str | None, import_id: str | None, defer: bool) -> bool:
    """Whether the import goes through the resumable asset import: always for a
    folder or Parquet; for assets sent to a server (``--url``) or when asked
    for (an import id, deferred models). Other kinds import locally."""
    from agora.cli.bulk import source_kind

    fmt = source_kind(file)
    if fmt in ("images", "parquet"):
        return True
    wanted = bool(url or import_id or defer)
    if not wanted:
        return False
    if kind == Kind.AUTO:
        first = next((r.data for r in read_records(file, detect_format(file)) if r.data), None)
        kind = guess_kind(first) if first is not None else Kind.ASSETS
    if kind == Kind.ASSETS:
        return True
    if import_id or defer:
        raise InvalidInput(
            f"only assets import by import id; import {kind.value} without "
            "--import-id and --defer-models"
        )
    return False  # sellers, users, events: into the local data folder, as always


def import_file(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            readable=True,
            help="JSON Lines, CSV or Parquet file, or a folder of images (one asset each).",
        ),
    ],
    kind: Annotated[
        Kind,
        typer.Option(help="What the records are; 'auto' guesses from the first record's fields."),
    ] = Kind.AUTO,
    import_id: Annotated[
        str | None,
        typer.Option(
            help="Resumable import id; re-running with it skips what was accepted "
            "(default with --url: derived from the file's path, size and time)."
        ),
    ] = None,
    defer_models: Annotated[
        bool, typer.Option(help="Import first; the pipeline runs afterwards, in the background.")
    ] = False,
    wait: Annotated[
        bool, typer.Option(help="Wait until every accepted asset is processed.")
    ] = True,
    chunk: Annotated[int, typer.Option(min=1, max=10_000, help="Records per request.")] = 500,
    seller: Annotated[
        str | None, typer.Option(help="Seller of the images whose side-file row names none.")
    ] = None,
    metadata: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="Side file of an image folder (default: metadata.csv/.tsv/.jsonl in it).",
        ),
    ] = None,
) -> None:
    """Import assets, sellers, users or events; bad lines are reported, never fatal.

    Assets stream to a server (``--url``) or into the local data folder in
    chunks, resumably: ``--import-id`` names the import, and running the same
    command again skips what was accepted. The server's back-pressure (503
    with Retry-After) is waited out. A folder imports one asset per image,
    with metadata from its side file (a ``file`` column names the image)."""
    cli = state(ctx)
    try:
        resumable = _resumable(file, kind, cli.url, import_id, defer_models)
    except AgoraError as exc:
        fail(exc.detail, code=2)
    if resumable:
        from agora.cli.bulk_command import import_resumable

        import_resumable(ctx, file, import_id, defer_models, wait, chunk, seller, metadata)
        return
    if file.is_dir():
        fail(f"{file} is a folder: import a folder of images as assets", code=2)
    _import_local(ctx, file, kind)


def _import_local(ctx: typer.Context, file: Path, kind: Kind) -> None:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    total = count_records(file, detect_format(file))
    printed = 0
    with (
        open_platform(state(ctx)) as platform,
        Progress(
            TextColumn("[bold]importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        ) as progress,
    ):
        task = progress.add_task("import", total=total)

        def report(line: int, error: str) -> None:
            nonlocal printed
            printed += 1
            if printed <= MAX_PRINTED_ERRORS:
                progress.console.print(
                    f"line {line}: {error}", markup=False, highlight=False, soft_wrap=True
                )

        ok, failed, used = run_import(
            platform, file, kind, cli_actor(), report, lambda n: progress.advance(task, n)
        )
    if printed > MAX_PRINTED_ERRORS:
        typer.echo(f"... and {printed - MAX_PRINTED_ERRORS} more failed lines")
    what = "records" if used == Kind.AUTO else used.value
    typer.echo(
        f"imported {ok} of {ok + failed} records from {file.name} as {what} ({failed} failed)"
    )
    if failed:
        raise typer.Exit(1)
