"""Schemathesis hooks for scripts/api-check: how to send Agora's JSON Lines bodies.

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
