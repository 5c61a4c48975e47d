"""Retrievers at a fixed depth, each list cut at its relevance floor.

A nearest-neighbour index always has neighbours: without a floor, a query
that matches nothing (``zzzqqqxx``) got the whole catalog back, ranked by
noise. Each retriever's rows below its floor are therefore not hits:

- ``keyword`` (BM25 / ts_rank_cd): a document must match a query term (the
  index returns nothing else); a floor above 0 may be set but is not by default;
- ``text`` and ``conse`` (cosine of the query embedding to the asset's text or
  image ConSE vectors): a floor that depends on *evidence*: whether any query
  word occurs in the catalog at all (keyword evidence), or is a real word of
  the language (``agora.search.lexicon``: "armoured vehicle" finds tanks in a
  catalog that never says "armoured");
- ``image`` (visual and similar-item search): no floor, the query is an example
  whose nearest pictures are the answer.

Why keyword evidence: cosine alone cannot tell gibberish from a real query.
On Home Depot's product search (``benchmarks/search_floor.py``, 53k titles,
MiniLM) the best cosine a random letter string reaches over the catalog has a
median of 0.38 and a 99th percentile of 0.49, while judged-relevant (query,
title) pairs have a median of 0.52 and a 1st percentile of 0.11: any single
threshold either lets nearly all gibberish through or drops half the
relevant items. But 99 % of real queries share a word with the catalog, and
99 % of gibberish shares none. So a query with keyword evidence keeps every
dense row above the lenient ``relevance_floor`` (0.09: it keeps 99 % of the
tuning half's relevant pairs), and a query without it needs the strict
``unmatched_floor`` (0.48: above 99 % of gibberish queries' best cosine); the
few real queries without evidence are mostly misspellings (``cieling``,
``fuacet``), which get a ``did_you_mean`` instead. ConSE is a weak retriever
(text-to-image precision@5 0.22 on the Kenney sprites), so it keeps only
confident matches either way (0.47, the same gibberish quantile).

Example:
    >>> found = floored([("a", 0.61), ("b", 0.42), ("c", 0.05)], asked=3, floor=0.09)
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

# Floors per text profile, chosen by benchmarks/search_floor.py on the Home
# Depot tuning half (text) and the Kenney sprites (conse); e5 is not calibrated
# yet, so it has none (its cosines sit in another range: 0.7-0.9 for anything).
DEFAULT_FLOORS: Mapping[str, Mapping[str, float]] = {
    "minilm": {"text": 0.09, "conse": 0.47},
}
DEFAULT_UNMATCHED_FLOORS: Mapping[str, Mapping[str, float]] = {
    "minilm": {"text": 0.48, "conse": 0.47},
}


@dataclass(frozen=True)
class Floors:
    """Floors per retriever for queries with and without keyword evidence."""

    matched: Mapping[str, float]
    unmatched: Mapping[str, float]

    def get(self, retriever: str, *, evidence: bool = True) -> float | None:
        """The floor of ``retriever`` for a query with (or without) keyword evidence."""
        if evidence:
            return self.matched.get(retriever)
        return self.unmatched.get(retriever, self.matched.get(retriever))


def relevance_floors(settings: SearchSettings) -> Floors:
    """The floors in force: the settings' own, or the text profile's calibrated ones."""
    profile = settings.text_profile
    matched = settings.relevance_floor
    unmatched = settings.unmatched_floor
    return Floors(
        dict(DEFAULT_FLOORS.get(profile, {}) if matched is None else matched),
        dict(DEFAULT_UNMATCHED_FLOORS.get(profile, {}) if unmatched is None else unmatched),
    )


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
