"""Retrievers at a fixed depth, each list cut at its relevance floor.

A nearest-neighbour index always has neighbours: without a floor, a query
that matches nothing (``zzzqqqxx``) got the whole catalog back, ranked by
noise. Each retriever's rows below its floor are therefore not hits:

- ``keyword`` (BM25 / ts_rank_cd): a document must match a query term (the
  index returns nothing else); a floor above 0 may be set but is not by default;
- ``text`` and ``conse`` (cosine of the query embedding to the asset's text or
  image ConSE vectors): a calibrated cosine threshold per text profile
  (``DEFAULT_FLOORS``, measured by ``benchmarks/search_floor.py``), under which
  the encoder's similarities no longer separate related from unrelated text;
- ``image`` (visual and similar-item search): no floor, the query is an example
  whose nearest pictures are the answer.

In hybrid mode a hit therefore needs keyword evidence *or* a dense similarity
above the floor, so synonyms still find by meaning while gibberish finds nothing.

Example:
    >>> found = floored([("a", 0.61), ("b", 0.42), ("c", 0.12)], asked=3, floor=0.3)
    >>> found.ranked, found.exhausted
    ([('a', 0.61), ('b', 0.42)], True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agora.search.fusion import Ranked
from agora.search.hits import per_asset

if TYPE_CHECKING:
    from agora.config import SearchSettings

# Cosine floors per text profile and retriever, chosen on the Home Depot
# tuning queries (benchmarks/search_floor.py; README "Search").
DEFAULT_FLOORS: Mapping[str, Mapping[str, float]] = {
    "minilm": {"text": 0.3, "conse": 0.3},
}


def relevance_floors(settings: SearchSettings) -> dict[str, float]:
    """The floors in force: the settings' own, or the text profile's calibrated ones."""
    if settings.relevance_floor is not None:
        return dict(settings.relevance_floor)
    return dict(DEFAULT_FLOORS.get(settings.text_profile, {}))


@dataclass(frozen=True)
class Found:
    """One retriever's answer at one depth. ``exhausted``: it returned fewer rows
    than asked for, or its floor cut the list, so asking deeper finds nothing new."""

    ranked: Ranked
    exhausted: bool


def floored(rows: Sequence[tuple[str, float]], asked: int, floor: float | None) -> Found:
    """The ``rows`` (best first) at or above ``floor``."""
    kept = [(doc, s) for doc, s in rows if floor is None or s >= floor]
    return Found(kept, exhausted=len(rows) < asked or len(kept) < len(rows))


def floored_images(
    searches: Sequence[Sequence[tuple[str, float]]],
    asked: int,
    floor: float | None,
    exclude: str | None = None,
) -> Found:
    """Per-image rows of one or more searches (one per query picture) at or above
    ``floor``, collapsed to one entry per asset (its best image)."""
    found = [floored(rows, asked, floor) for rows in searches]
    rows = [row for f in found for row in f.ranked]
    return Found(per_asset(rows, exclude=exclude), all(f.exhausted for f in found))
