"""Schemathesis hooks for scripts/api-check: how to send Agora's JSON Lines and Parquet bodies.

``POST /api/v1/assets:batch`` takes one ``AssetMetadata`` object per line
(``application/x-ndjson`` and its aliases); schemathesis has no serializer for
those media types, so a generated object (or list of objects) is sent as lines.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.serializer("application/x-ndjson", "application/jsonl", "application/x-jsonlines")
def json_lines(_context: Any, value: Any) -> dict[str, Any]:
    rows = value if isinstance(value, list) else [value]
    return {"data": "\n".join(json.dumps(row) for row in rows).encode()}


@schemathesis.serializer("application/vnd.apache.parquet", "application/x-parquet")
def parquet(_context: Any, value: Any) -> dict[str, Any]:
    """The generated value as raw bytes: the server must refuse what is not a Parquet
    file with a 4xx (a real file is tested in tests/e2e/test_import_resumable.py)."""
    if isinstance(value, bytes | bytearray):
        return {"data": bytes(value)}
    return {"data": json.dumps(value).encode()}
