"""Small pieces of a search answer: per-asset collapsing, keyword model names, hits."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from importlib.metadata import version

from agora.search.backends import asset_of
from agora.search.base import SearchHit
from agora.search.filters import CatalogEntry
from agora.search.fusion import Contribution, Ranked
from agora.search.highlight import highlight_fields


@functools.cache
def _bm25s_version() -> str:
    # importlib.metadata parses the package's METADATA file: ~2 ms a call.
    return version("bm25s")


def keyword_model(index: object) -> str:
    """``name@version`` of a keyword backend (the engine that scored the hits)."""
    kind = type(index).__name__
    if kind == "Bm25Index":
        return f"bm25s@{_bm25s_version()}"
    if kind == "PgFullTextIndex":
        return "postgresql-fts@ts_rank_cd"
    return str(getattr(index, "model", kind))


def per_asset(hits: Sequence[tuple[str, float]], exclude: str | None = None) -> Ranked:
    """Per-image rows -> one entry per asset (its best image), best first."""
    best: dict[str, float] = {}
    for row_id, score in hits:
        asset = asset_of(row_id)
        if asset != exclude and score > best.get(asset, float("-inf")):
            best[asset] = score
    return sorted(best.items(), key=lambda kv: -kv[1])


def build_hit(
    doc: str,
    score: float,
    per: Mapping[str, Mapping[str, tuple[int, float]]],
    entry: CatalogEntry,
    query_text: str | None,
    highlights: Mapping[str, dict[str, str]] | None,
    explain: dict[str, Contribution] | None = None,
) -> SearchHit:
    """One page hit: fused score, per-list ranks and scores, highlights, listing fields."""
    found = {n: ranks[doc] for n, ranks in per.items() if doc in ranks}
    marks = dict((highlights or {}).get(doc) or {})
    if not marks and query_text:
        fields = {"title": entry.title, "description": entry.description}
        marks = highlight_fields(query_text, fields | {"tags": " ".join(entry.tags)})
    return SearchHit(
        id=doc,
        score=round(score, 6),
        scores={n: round(float(s), 6) for n, (_, s) in found.items()},
        ranks={n: r for n, (r, _) in found.items()},
        highlights=marks,
        explain=explain,
        asset={
            "title": entry.title,
            "category": entry.category,
            "price": entry.price,
            "seller_id": entry.seller_id,
            "tags": list(entry.tags),
        },
    )
