"""Small Markdown helpers shared by the page generators."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any


def cell(text: object) -> str:
    """Text safe inside a Markdown table cell (pipes escaped, lines joined)."""
    value = "" if text is None else str(text)
    value = value.replace("|", "\\|").strip()
    return re.sub(r"\s*\n\s*", "<br>", value)


def code(text: object) -> str:
    """Inline code that survives backticks inside the text, safe in a table cell
    (a code span keeps its pipes: the tables extension does not split inside it)."""
    value = " ".join(str(text).split("\n")).strip() or " "
    fence = "``" if "`" in value else "`"
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table of cells that are Markdown already (see :func:`cell`, :func:`code`);
    ``None`` shows as an empty cell."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join("" if c is None else str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def json_block(value: Any) -> str:
    """A fenced JSON code block."""
    return "```json\n" + json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n```\n"


def anchor(*parts: str) -> str:
    """A stable HTML id made of ``parts`` (letters, digits, ``-`` and ``_`` only)."""
    return re.sub(r"[^A-Za-z0-9_]+", "-", "-".join(parts)).strip("-").lower()


def slug(text: str) -> str:
    """A file-name slug: ``"users and sellers"`` -> ``"users-and-sellers"``."""
    return anchor(text) or "untitled"
