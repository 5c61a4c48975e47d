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
from typing import Literal

FusionMethod = Literal["rrf", "convex"]
Ranked = Sequence[tuple[str, float]]  # (id, score), best first


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
    total_w = sum(weights.get(name, 1.0) for name in lists) or 1.0
    fused: dict[str, float] = {}
    for name, ranked in lists.items():
        if not ranked:
            continue
        w = weights.get(name, 1.0) / total_w
        scores = [s for _, s in ranked]
        lo, hi = min(scores), max(scores)
        span = hi - lo
        for doc, s in ranked:
            # A single hit (or a tie) carries full weight: it is that list's best.
            norm = (s - lo) / span if span > 0 else 1.0
            fused[doc] = fused.get(doc, 0.0) + w * norm
    return fused


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
