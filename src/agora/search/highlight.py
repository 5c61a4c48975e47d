"""Highlights for hits the keyword index did not explain (vector-only hits).

Marks the query's words in the catalog's title, tags and a description
snippet with ``<mark></mark>``, after HTML-escaping the text, so the markup
is safe to render. Matching is on lower-cased word forms with a light plural
strip ("tanks" ~ "tank"); a vector hit with no shared word gets no highlight.

Example:
    >>> highlight_fields("red tanks", {"title": "Red Tank", "description": "A tank."})
    {'title': '<mark>Red</mark> <mark>Tank</mark>', 'description': 'A <mark>tank</mark>.'}
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

_WORD = re.compile(r"\w+", re.UNICODE)
SNIPPET_CHARS = 200


def _norm(word: str) -> str:
    w = word.lower()
    return w[:-1] if len(w) > 3 and w.endswith("s") else w


def query_terms(query: str) -> set[str]:
    """Normalised words of a query (one-letter words skipped)."""
    return {_norm(w) for w in _WORD.findall(query) if len(w) > 1}


def _snippet(text: str, terms: set[str]) -> str:
    if len(text) <= SNIPPET_CHARS:
        return text
    first = next((m.start() for m in _WORD.finditer(text) if _norm(m.group()) in terms), 0)
    start = max(0, first - SNIPPET_CHARS // 4)
    end = start + SNIPPET_CHARS
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


def mark(text: str, terms: set[str]) -> str | None:
    """``text`` escaped with matched words marked; None when nothing matched."""
    out: list[str] = []
    pos, hit = 0, False
    for m in _WORD.finditer(text):
        if _norm(m.group()) in terms:
            out.append(html.escape(text[pos : m.start()]))
            out.append(f"<mark>{html.escape(m.group())}</mark>")
            pos, hit = m.end(), True
    if not hit:
        return None
    out.append(html.escape(text[pos:]))
    return "".join(out)


def highlight_fields(query: str, fields: Mapping[str, str]) -> dict[str, str]:
    """Field -> marked text, for the fields where a query word occurs."""
    terms = query_terms(query)
    if not terms:
        return {}
    found: dict[str, str] = {}
    for name, text in fields.items():
        if not text:
            continue
        marked = mark(_snippet(text, terms) if name == "description" else text, terms)
        if marked is not None:
            found[name] = marked
    return found
