"""Items of a resumable import from each source: JSON lines, Parquet rows and
an image folder's images with their side file of metadata.

Parquet is read a row group at a time (pyarrow), so a file of any size costs
one batch of rows in memory. An image folder becomes one asset per image; its
side file (CSV or JSON Lines, one row per image, keyed by a ``file`` column)
gives each image its metadata, with the title defaulting to the file's name.

Example:
    >>> rows = side_file(b"file,title,seller_id\\ntank.png,Desert tank,s1\\n", "metadata.csv")
    >>> rows["tank.png"]["title"]
    'Desert tank'
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

from pydantic import ValidationError

from agora.catalog.assets import validation_detail
from agora.catalog.import_sessions import ImportItem
from agora.catalog.imports import JsonLine, parse_line
from agora.catalog.schemas import AssetMetadata
from agora.catalog.uploads import Upload
from agora.errors import InvalidInput, MalformedRequest

KEY_COLUMNS = ("file", "file_name", "filename", "image")
"""Side-file columns that name an image (the first one present is used)."""
_LIST_FIELDS = ("tags",)
_OBJECT_FIELDS = ("attributes", "geo")


def json_line_item(line: JsonLine, max_bytes: int) -> ImportItem:
    """A JSON line as an import item (its rejection when it does not parse)."""
    meta = parse_line(line, max_bytes)
    if isinstance(meta, AssetMetadata):
        return ImportItem(line.number, metadata=meta)
    return ImportItem(line.number, rejection=meta)


def record_item(number: int, record: dict[str, Any], name: str | None = None) -> ImportItem:
    """A record (a Parquet row, a side-file row) as an import item: text cells
    of list and object fields are decoded, ``lat``/``lon`` become ``geo``,
    nulls and empty cells are dropped, then it is validated."""
    data = {k: v for k, v in record.items() if v is not None and v != ""}
    for key in _LIST_FIELDS:
        if isinstance(data.get(key), str):
            data[key] = [p.strip() for p in re.split(r"[;|]", data[key]) if p.strip()]
    for key in _OBJECT_FIELDS:
        if isinstance(data.get(key), str):
            try:
                data[key] = json.loads(data[key])
            except json.JSONDecodeError:
                return ImportItem(
                    number, rejection={"status": 422, "error": f"{key} is not JSON"}, name=name
                )
    if "geo" not in data and ("lat" in data or "lon" in data):
        data["geo"] = {"lat": data.pop("lat", None), "lon": data.pop("lon", None)}
    try:
        return ImportItem(number, metadata=AssetMetadata.model_validate(data), name=name)
    except ValidationError as exc:
        error = f"invalid metadata: {validation_detail(exc)}"
        return ImportItem(number, rejection={"status": 422, "error": error}, name=name)


def parquet_items(source: str | Path | IO[bytes], first_line: int = 1) -> Iterator[ImportItem]:
    """One item per row, numbered from ``first_line``; a file that is not
    Parquet is a ``MalformedRequest`` (400) before any item is yielded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(source)
    except (pa.ArrowException, OSError) as exc:
        raise MalformedRequest(f"not a readable Parquet file: {exc}") from None
    number = first_line
    try:
        for batch in parquet.iter_batches(batch_size=1024):
            for record in batch.to_pylist():
                yield record_item(number, record)
                number += 1
    except (pa.ArrowException, OSError) as exc:
        raise MalformedRequest(f"Parquet file is corrupt after row {number - 1}: {exc}") from None


def _side_records(data: bytes, name: str) -> list[dict[str, Any]]:
    text = data.decode("utf-8-sig")
    if name.lower().endswith((".jsonl", ".ndjson", ".json")):
        records = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"side file {name}, line {number}: bad JSON: {exc}") from None
            if not isinstance(record, dict):
                raise InvalidInput(f"side file {name}, line {number}: not a JSON object")
            records.append(record)
        return records
    if not name.lower().endswith((".csv", ".tsv")):
        raise InvalidInput(f"side file {name}: name it .csv, .tsv or .jsonl")
    delimiter = "\t" if name.lower().endswith(".tsv") else ","
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


def side_file(data: bytes, name: str) -> dict[str, dict[str, Any]]:
    """An image folder's side file as metadata by image file name.

    ``InvalidInput`` (422) for a file that is not UTF-8 CSV/JSON Lines, has no
    key column (``file``, ``file_name``, ``filename`` or ``image``) or names
    an image twice."""
    try:
        records = _side_records(data, name)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InvalidInput(f"side file {name}: unreadable: {exc}") from None
    by_name: dict[str, dict[str, Any]] = {}
    for number, record in enumerate(records, 1):
        key = next((k for k in KEY_COLUMNS if record.get(k)), None)
        if key is None:
            raise InvalidInput(
                f"side file {name}, record {number}: no image named (add a column: "
                f"{', '.join(KEY_COLUMNS)})"
            )
        image = PurePosixPath(str(record[key])).name
        if image in by_name:
            raise InvalidInput(f"side file {name}: {image!r} appears twice")
        by_name[image] = {k: v for k, v in record.items() if k not in KEY_COLUMNS}
    return by_name


def image_item(
    number: int, image: Upload, metadata: dict[str, Any] | None, seller_id: str | None
) -> ImportItem:
    """One asset for one image: its side-file row, the file's name as the
    default title and ``seller_id`` as the default seller."""
    record = dict(metadata or {})
    record.setdefault("title", Path(image.name).stem.replace("_", " ").replace("-", " "))
    if seller_id:
        record.setdefault("seller_id", seller_id)
    item = record_item(number, record, name=image.name)
    if item.metadata is None:
        return item
    return ImportItem(number, metadata=item.metadata, images=[image], name=image.name)
