"""Rank fusion of several retrievers' ranked lists.

Two methods, chosen by ``SearchSettings.fusion``:

- ``rrf``: weighted reciprocal-rank fusion (Cormack et al. 2009),
  ``score(d) = sum_r w_r / (k + rank_r(d))``. It uses ranks only, so it needs
  no calibration between BM25 scores (unbounded) and cosine similarities.
- ``convex``: a convex combination of min-max normalised scores
  (``sum_r w_r * norm_r(d)``, a document missing from a list scores 0 there).
  It keeps the score gaps that RRF throws away, which helps when one
  retriever is confident (Bruch et al. 2023, "An analysis of fusion functions
  for hybrid retrieval").

Example:
    >>> fused = fuse({"keyword": [("a", 9.0), ("b", 3.0)], "text": [("b", 0.8)]},
    ...              weights={"keyword": 1.0, "text": 1.0}, k=60)
    >>> [doc for doc, _ in fused]
    ['b', 'a']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

FusionMethod = Literal["rrf", "convex"]
Ranked = Sequence[tuple[str, float]]  # (id, score), best first
Bounds = tuple[float, float]  # (lowest, highest) raw score of one list


@dataclass(frozen=True)
class Contribution:
    """What one retriever added to a hit's fused score, and from what.

    ``value``: the addend itself (the contributions of a hit sum to its fused
    score). ``weight``: the weight as applied (convex: the retriever's weight
    divided by the sum of the weights of the lists fused). ``rank``/``score``:
    the hit's place and raw score in that retriever's list. RRF:
    ``value = weight / (k + rank)``; convex: ``value = weight * normalised``
    with ``normalised = (score - low) / (high - low)`` over that list's bounds
    (1 when the list has a single score)."""

    method: FusionMethod
    value: float
    weight: float
    rank: int
    score: float
    k: float | None = None
    normalised: float | None = None
    low: float | None = None
    high: float | None = None


def bounds(lists: Mapping[str, Ranked]) -> dict[str, Bounds]:
    """Per non-empty list, the min-max bounds convex fusion normalises by."""
    out: dict[str, Bounds] = {}
    for name, ranked in lists.items():
        if ranked:
            scores = [s for _, s in ranked]
            out[name] = (min(scores), max(scores))
    return out


def _normalised(score: float, lo: float, hi: float) -> float:
    span = hi - lo
    # A single hit (or a tie) carries full weight: it is that list's best.
    return (score - lo) / span if span > 0 else 1.0


def _convex_weights(names: Sequence[str], weights: Mapping[str, float]) -> dict[str, float]:
    total_w = sum(weights.get(name, 1.0) for name in names) or 1.0
    return {name: weights.get(name, 1.0) / total_w for name in names}


def rrf(lists: Mapping[str, Ranked], weights: Mapping[str, float], k: float) -> dict[str, float]:
    """Weighted reciprocal-rank fusion; ranks start at 1."""
    fused: dict[str, float] = {}
    for name, ranked in lists.items():
        w = weights.get(name, 1.0)
        for rank, (doc, _) in enumerate(ranked, start=1):
            fused[doc] = fused.get(doc, 0.0) + w / (k + rank)
    return fused


def convex(lists: Mapping[str, Ranked], weights: Mapping[str, float]) -> dict[str, float]:
    """Convex combination of per-list min-max normalised scores."""
    applied = _convex_weights(list(lists), weights)
    fused: dict[str, float] = {}
    for name, (lo, hi) in bounds(lists).items():
        w = applied[name]
        for doc, s in lists[name]:
            fused[doc] = fused.get(doc, 0.0) + w * _normalised(s, lo, hi)
    return fused


def contributions(
    found: Mapping[str, tuple[int, float]],
    *,
    lists: Sequence[str],
    list_bounds: Mapping[str, Bounds],
    weights: Mapping[str, float],
    k: float = 60.0,
    method: FusionMethod = "rrf",
) -> dict[str, Contribution]:
    """One hit's contribution per retriever that found it, the same sums as
    ``fuse`` (so they add up to its fused score).

    ``found``: retriever -> (rank, raw score) of the hit; ``lists``: every
    list that was fused (convex weights are shares of their sum);
    ``list_bounds``: ``bounds(lists)`` of that fusion."""
    out: dict[str, Contribution] = {}
    if method == "rrf":
        for name, (rank, score) in found.items():
            w = weights.get(name, 1.0)
            out[name] = Contribution("rrf", w / (k + rank), w, rank, score, k=k)
        return out
    applied = _convex_weights(lists, weights)
    for name, (rank, score) in found.items():
        lo, hi = list_bounds[name]
        norm = _normalised(score, lo, hi)
        w = applied[name]
        out[name] = Contribution(
            "convex", w * norm, w, rank, score, normalised=norm, low=lo, high=hi
        )
    return out


def fuse(
    lists: Mapping[str, Ranked],
    *,
    weights: Mapping[str, float],
    k: float = 60.0,
    method: FusionMethod = "rrf",
) -> list[tuple[str, float]]:
    """Fused ranking, best first; ties broken by id for a stable order."""
    fused = rrf(lists, weights, k) if method == "rrf" else convex(lists, weights)
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
