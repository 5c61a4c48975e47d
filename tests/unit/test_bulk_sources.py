"""The import's sources: CSV cells as fields, runs of readable records,
side files keyed by image name."""

from __future__ import annotations

import pytest

from agora.catalog.import_sources import record_item, side_file
from agora.cli.bulk import asset_record, record_chunks
from agora.cli.records import Record
from agora.errors import InvalidInput


def test_asset_record_decodes_cells() -> None:
    meta = asset_record(
        {"title": "Tank", "tags": "a; b|c", "attributes": '{"n": 1}', "lat": "1.5", "lon": "2"}
    )
    assert meta == {
        "title": "Tank",
        "tags": ["a", "b", "c"],
        "attributes": {"n": 1},
        "geo": {"lat": "1.5", "lon": "2"},
    }
    with pytest.raises(InvalidInput, match="local import"):
        asset_record({"title": "T", "images": "a.png"})


def test_chunks_are_runs_of_consecutive_readable_records() -> None:
    records = [
        Record(1, data={"title": "a"}),
        Record(2, data={"title": "b"}),
        Record(3, error="invalid JSON"),
        Record(4, data={"title": "c"}),
        Record(6, data={"title": "d"}),  # line 5 was blank
        Record(7, data={"title": "e"}),
        Record(8, data={"title": "f"}),
    ]
    rejected: list[tuple[int, str]] = []
    chunks = list(record_chunks(iter(records), 2, rejected))
    assert [(c.first, [x["title"] for x in c.lines]) for c in chunks] == [
        (1, ["a", "b"]),
        (4, ["c"]),
        (6, ["d", "e"]),
        (8, ["f"]),
    ]
    assert rejected == [(3, "invalid JSON")]


def test_side_file_by_image_name_and_record_items() -> None:
    rows = side_file(b'{"image": "sub/a.png", "title": "A"}\n\n', "meta.jsonl")
    assert rows == {"a.png": {"title": "A"}}
    with pytest.raises(InvalidInput, match="appears twice"):
        side_file(b"file\na.png\na.png\n", "m.csv")
    with pytest.raises(InvalidInput, match="unreadable"):
        side_file(b"file\n\xff\xfe\n", "m.csv")
    item = record_item(7, {"title": "T", "seller_id": "s", "geo": "{bad"})
    assert item.metadata is None and item.rejection == {"status": 422, "error": "geo is not JSON"}
    item = record_item(8, {"title": "T", "seller_id": "s", "price": "1.50", "stock": None})
    assert item.metadata is not None and str(item.metadata.price) == "1.50"
