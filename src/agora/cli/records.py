"""Read an import file as numbered records: JSON Lines or CSV, told apart by content.

A line that cannot be parsed becomes a ``Record`` with an ``error``, never an
exception, so one bad line never stops an import.

Example:
    >>> fmt = detect_format(Path("users.csv"))  # doctest: +SKIP
    >>> [r.line for r in read_records(Path("users.csv"), fmt)]  # doctest: +SKIP
    [2, 3, 4]
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Format = Literal["jsonl", "csv"]
_SNIFF_BYTES = 4096


@dataclass(frozen=True)
class Record:
    """One input record: its 1-based line number and either data or an error."""

    line: int
    data: dict[str, Any] | None = None
    error: str | None = None


def detect_format(path: Path) -> Format:
    """JSON Lines when the first non-blank character opens an object, else CSV."""
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES).lstrip(b"\xef\xbb\xbf").lstrip()
    return "jsonl" if head.startswith(b"{") else "csv"


def count_records(path: Path, fmt: Format) -> int:
    """Number of records, for the progress bar (non-blank lines; minus the CSV header)."""
    with path.open("rb") as fh:
        lines = sum(1 for raw in fh if raw.strip())
    return max(0, lines - 1) if fmt == "csv" else lines


def _jsonl(path: Path) -> Iterator[Record]:
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw.decode("utf-8-sig" if n == 1 else "utf-8"))
            except UnicodeDecodeError:
                yield Record(n, error="line is not valid UTF-8")
                continue
            except json.JSONDecodeError as exc:
                yield Record(n, error=f"invalid JSON: {exc.msg} at column {exc.colno}")
                continue
            if isinstance(value, dict):
                yield Record(n, data=value)
            else:
                yield Record(n, error=f"expected a JSON object, got {type(value).__name__}")


def _csv(path: Path) -> Iterator[Record]:
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames:
            return
        start = reader.line_num + 1
        for row in reader:
            if None in row:
                yield Record(start, error=f"{len(row[None])} more values than header columns")
            elif any(v is None for v in row.values()):
                yield Record(start, error="fewer values than header columns")
            elif any(v.strip() for v in row.values()):
                # Empty cells mean "not given", so defaults apply.
                yield Record(
                    start, data={k.strip(): v.strip() for k, v in row.items() if v.strip()}
                )
            start = reader.line_num + 1


def read_records(path: Path, fmt: Format) -> Iterator[Record]:
    """Records in file order."""
    return _jsonl(path) if fmt == "jsonl" else _csv(path)
