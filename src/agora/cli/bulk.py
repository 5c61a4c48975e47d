"""The sources of a resumable asset import, read a chunk at a time.

A file of any size is never held whole: JSON Lines and CSV are read record by
record, Parquet a row group at a time, an image folder a few images at a
time. Each item keeps its position in the source (file line, Parquet row,
image number), so a re-sent import skips what the server already accepted.
Items that cannot be read (bad JSON, a short CSV row) are rejected here, with
their reason, and never sent.

Example:
    >>> default_import_id(Path("listings.jsonl"))  # doctest: +SKIP
    'listings-9c1e03d7aa'
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agora.catalog.import_sources import side_file
from agora.cli.records import Record, detect_format, read_records
from agora.errors import InvalidInput

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"})
SIDE_FILES = ("metadata.csv", "metadata.tsv", "metadata.jsonl", "metadata.ndjson")
"""Side files looked for in an image folder, in this order."""


@dataclass
class Chunk:
    """Consecutive items to send in one request: ``first`` is the position of
    the first; ``lines`` (JSON objects) or ``images`` (paths) with their
    side-file ``rows``."""

    first: int
    lines: list[dict[str, Any]] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.lines) + len(self.images)


def default_import_id(source: Path) -> str:
    """An import id that stays the same while the file does: re-running the
    same command on the same file resumes it."""
    stat = source.stat()
    key = f"{source.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    stem = re.sub(r"[^A-Za-z0-9._-]", "-", source.stem)[:40].strip("-._") or "import"
    return f"{stem}-{hashlib.sha1(key.encode()).hexdigest()[:10]}"


def _split(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [p.strip() for p in re.split(r"[;|]", str(value)) if p.strip()]


def asset_record(data: dict[str, Any]) -> dict[str, Any]:
    """A record's cells as ``AssetMetadata`` fields: ``tags`` split on ``;``/``|``,
    ``attributes``/``geo`` decoded from JSON, ``lat``/``lon`` joined as ``geo``;
    nulls dropped. ``InvalidInput`` for a cell that cannot be read."""
    meta = {k: v for k, v in data.items() if v is not None and v != ""}
    if meta.keys() & {"files", "images"}:
        raise InvalidInput(
            "files/images columns are uploaded by the local import (no --url); "
            "import pictures as an image folder"
        )
    if "tags" in meta:
        meta["tags"] = _split(meta["tags"])
    for key in ("attributes", "geo"):
        if isinstance(meta.get(key), str):
            try:
                meta[key] = json.loads(meta[key])
            except json.JSONDecodeError:
                raise InvalidInput(f"{key} must be a JSON object") from None
    if "geo" not in meta and ("lat" in meta or "lon" in meta):
        meta["geo"] = {"lat": meta.pop("lat", None), "lon": meta.pop("lon", None)}
    return meta


def _parquet_records(path: Path) -> Iterator[Record]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        number = 0
        for batch in parquet.iter_batches(batch_size=1024):
            for row in batch.to_pylist():
                number += 1
                yield Record(number, data=row)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInput(f"{path.name} is not a readable Parquet file: {exc}") from None


def source_kind(path: Path) -> str:
    """``images`` (a folder), ``parquet``, ``jsonl`` or ``csv``."""
    if path.is_dir():
        return "images"
    with path.open("rb") as fh:
        if fh.read(4) == b"PAR1":
            return "parquet"
    return detect_format(path)


def count_items(path: Path) -> int:
    """Items in the source, for the progress bar (lines for text files)."""
    kind = source_kind(path)
    if kind == "images":
        return len(folder_images(path))
    if kind == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    with path.open("rb") as fh:
        lines = sum(1 for raw in fh if raw.strip())
    return max(0, lines - 1) if kind == "csv" else lines


def records(path: Path) -> Iterator[Record]:
    """The records of a JSON Lines, CSV or Parquet file, numbered by position."""
    if source_kind(path) == "parquet":
        return _parquet_records(path)
    return read_records(path, detect_format(path))


def record_chunks(
    items: Iterator[Record], size: int, rejected: list[tuple[int, str]]
) -> Iterator[Chunk]:
    """Runs of consecutive readable records, ``size`` at most; unreadable ones
    go to ``rejected`` as (position, reason)."""
    chunk: Chunk | None = None
    for record in items:
        meta: dict[str, Any] | None = None
        error = record.error
        if record.data is not None:
            try:
                meta = asset_record(record.data)
            except InvalidInput as exc:
                error = exc.detail
        if meta is None:
            rejected.append((record.line, error or "unreadable"))
        contiguous = chunk is not None and chunk.first + len(chunk) == record.line
        if chunk is not None and (meta is None or not contiguous or len(chunk) >= size):
            yield chunk
            chunk = None
        if meta is not None:
            chunk = chunk or Chunk(record.line)
            chunk.lines.append(meta)
    if chunk is not None:
        yield chunk


def folder_images(folder: Path) -> list[Path]:
    """The folder's images (not its subfolders'), by name: a stable order."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_side_file(folder: Path, given: Path | None) -> dict[str, dict[str, Any]]:
    """The folder's metadata by image name (``given``, else the first of
    ``SIDE_FILES`` present, else none); ``InvalidInput`` for a bad side file."""
    path = given or next((folder / n for n in SIDE_FILES if (folder / n).is_file()), None)
    if path is None:
        return {}
    return side_file(path.read_bytes(), path.name)


def image_chunks(folder: Path, rows: dict[str, dict[str, Any]], size: int) -> Iterator[Chunk]:
    """The folder's images, ``size`` per chunk, each with its side-file rows."""
    images = folder_images(folder)
    for start in range(0, len(images), size):
        part = images[start : start + size]
        chunk = Chunk(start + 1, images=part)
        chunk.rows = {p.name: rows[p.name] for p in part if p.name in rows}
        yield chunk
