"""Structured logs: one JSON object per line on stdout.

Every line carries ``timestamp`` (UTC, ISO 8601), ``level``, ``logger`` and
``message``, plus every ``extra=`` field the caller passed, so log shippers
(Loki, Elasticsearch, CloudWatch) index fields without parsing free text.

Example:
    >>> configure_logging("INFO", json=True)  # doctest: +SKIP
    >>> log = logging.getLogger("agora.demo")
    >>> log.info("asset processed", extra={"asset_id": "a1"})  # doctest: +SKIP
    {"timestamp": "...", "level": "INFO", "logger": "agora.demo", "message": "asset processed",
     "asset_id": "a1"}
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_FIELDS = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
) | {"message", "asctime", "taskName"}

# Loggers of the server libraries we route through our own handler, so a
# deployment gets one log format instead of two.
_ADOPTED_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic")


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line with its ``extra`` fields at top level."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # default=str: an extra that is not JSON-serialisable (a Path, a UUID)
        # must never make logging itself fail.
        return orjson.dumps(entry, default=str).decode()


class _Marker(logging.StreamHandler):  # type: ignore[type-arg]
    """Our stdout handler; recognised on reconfiguration so it is not doubled."""


def configure_logging(level: str | int = "INFO", json: bool = True) -> None:
    """Send every log record to stdout, as JSON lines when ``json`` is true.

    Idempotent: calling it again replaces the handler it installed before.
    """
    handler = _Marker(sys.stdout)
    handler.setFormatter(
        JsonFormatter()
        if json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Marker)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for name in _ADOPTED_LOGGERS:
        lib = logging.getLogger(name)
        lib.handlers = []
        lib.propagate = True
    # The API middleware logs one line per request itself (with route, key and
    # request id); uvicorn's own access line would only duplicate it.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
