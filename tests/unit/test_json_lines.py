"""JSON Lines bodies: split as they stream in, bounded, numbered as in the file."""

from __future__ import annotations

import pytest

from agora.catalog.imports import JsonLine, JsonLinesReader, parse_line
from agora.catalog.schemas import AssetMetadata
from agora.errors import PayloadTooLarge


def _read(chunks: list[bytes], *, max_lines: int = 10, max_line_bytes: int = 64) -> list:
    reader = JsonLinesReader(max_lines=max_lines, max_line_bytes=max_line_bytes)
    for chunk in chunks:
        reader.feed(chunk)
    return [(line.number, line.data) for line in reader.close()]


def test_lines_split_across_chunks_keep_their_file_numbers() -> None:
    body = b'{"a": 1}\r\n\n  \n{"b": 2}\n{"c": 3}'
    expected = [(1, b'{"a": 1}\r'), (4, b'{"b": 2}'), (5, b'{"c": 3}')]
    assert _read([body]) == expected
    # Every way of cutting the stream gives the same lines.
    for cut in range(len(body)):
        assert _read([body[:cut], body[cut:]]) == expected
    assert _read([bytes([b]) for b in body]) == expected


def test_an_over_long_line_is_marked_not_held() -> None:
    long = b"x" * 100
    assert _read([b'{"a": 1}\n', long[:50], long[50:], b"\n{}\n"], max_line_bytes=64) == [
        (1, b'{"a": 1}'),
        (2, None),
        (3, b"{}"),
    ]
    assert _read([long], max_line_bytes=64) == [(1, None)]


def test_more_lines_than_allowed_is_413_and_blank_lines_do_not_count() -> None:
    assert len(_read([b"{}\n\n\n{}\n{}"], max_lines=3)) == 3
    with pytest.raises(PayloadTooLarge, match="more than 3 lines"):
        _read([b"{}\n{}\n{}\n{}"], max_lines=3)


@pytest.mark.parametrize(
    ("data", "status", "fragment"),
    [
        (b"{not json", 400, "bad JSON"),
        (b"[1, 2]", 422, "invalid metadata"),
        (b'{"title": "x"}', 422, "seller_id"),
        (None, 413, "exceeds 64 bytes"),
    ],
)
def test_parse_line_rejections(data: bytes | None, status: int, fragment: str) -> None:
    rejected = parse_line(JsonLine(7, data), 64)
    assert isinstance(rejected, dict)
    assert (rejected["line"], rejected["accepted"], rejected["status"]) == (7, False, status)
    assert fragment in rejected["error"]


def test_parse_line_gives_the_metadata() -> None:
    meta = parse_line(
        JsonLine(1, b'{"title": " Tank ", "seller_id": "s1", "tags": ["a", "a"]}'), 64
    )
    assert isinstance(meta, AssetMetadata)
    assert (meta.title, meta.tags) == ("Tank", ["a"])
