"""Stage 1, candidate generation: search (queries) and recommenders (feed), de-duplicated.

Up to ``limit`` candidates. The search service already falls back to keyword
only when the vector index is down (its fallback is passed through); when a
source fails outright, or returns nothing, the popular items of the user's
region stand in (seed 001 section 3).

Each candidate carries a retrieval relevance in [0, 1] (the ``retrieval``
feature, and the relevance term of the popularity weights): for search hits
the fused search score relative to the best hit, so an asset that matches the
query's words stands well above one that is only semantically near (on the
demo, "tank": tanks 0.46-1.0, the next asset 0.31); for lists without
comparable scores (recommenders, popular items) ``1 - rank / len``.

Example:
    >>> merge([["a", "b"], ["b", "c"]], limit=10)[0]
    ['a', 'b', 'c']
    >>> merge([["a", "b"]], limit=10, scores=[[0.8, 0.2]])[1].tolist()
    [1.0, 0.25]
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from agora.ranking.base import FALLBACK_REGION_POPULAR, CandidateSet
from agora.ranking.catalog import CatalogSnapshot
from agora.search.base import SearchQuery, SearchService

log = logging.getLogger(__name__)


@runtime_checkable
class RecommendationService(Protocol):
    """What ranking needs of ``agora.recommend``: a long list for one user."""

    def recommend(self, user_id: str, n: int = 10) -> Any:
        """A ``Recommendations`` (items of ``asset_id``/``score``, ``model``, ``fallback``)."""


def relevance(scores: Sequence[float]) -> list[float] | None:
    """Scores relative to the best one, clipped to [0, 1] (None: no positive score)."""
    best = max(scores, default=0.0)
    if not best > 0:
        return None
    return [min(max(float(v) / best, 0.0), 1.0) for v in scores]


def merge(
    lists: Sequence[Sequence[str]],
    *,
    limit: int,
    scores: Sequence[Sequence[float] | None] | None = None,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Union in order of appearance; ``(ids, retrieval score in [0, 1], source index)``.

    An id's retrieval score is its best over the lists: ``relevance(scores[s])``
    where a list comes with scores, else ``1 - rank / len(list)``.
    """
    seen: dict[str, int] = {}
    score: list[float] = []
    source: list[int] = []
    for s, items in enumerate(lists):
        size = max(1, len(items))
        given = scores[s] if scores is not None and s < len(scores) else None
        rel = relevance(given) if given is not None and len(given) == len(items) else None
        for rank, a in enumerate(items):
            value = rel[rank] if rel is not None else 1.0 - rank / size
            if a in seen:
                i = seen[a]
                score[i] = max(score[i], value)
                continue
            if len(seen) >= limit:
                continue
            seen[a] = len(score)
            score.append(value)
            source.append(s)
    return list(seen), np.array(score, dtype=np.float64), np.array(source, dtype=np.int64)


def generate(
    *,
    user_id: str | None,
    query: str | None,
    region: str | None,
    snap: CatalogSnapshot,
    search: SearchService | None,
    recommender: RecommendationService | None,
    limit: int,
) -> CandidateSet:
    """Recall for one request (see module doc for the fallbacks)."""
    models: dict[str, str] = {}
    fallbacks: list[str] = []
    searched: list[str] = []
    searched_scores: list[float] = []
    recommended: list[str] = []
    failed = False
    if query is not None:
        if search is None:
            failed = True
        else:
            try:
                result = search.search(SearchQuery(text=query, limit=limit))
                searched = [h.id for h in result.hits]
                searched_scores = [h.score for h in result.hits]
                models.update({f"search.{k}": v for k, v in result.models.items()})
                fallbacks.extend(result.fallbacks)
            except Exception:  # any retrieval failure: serve the regional fallback
                log.exception("ranking: search candidates failed")
                failed = True
    else:
        if recommender is None or user_id is None:
            failed = recommender is None
        else:
            try:
                recs = recommender.recommend(user_id, n=limit)
                recommended = [i.asset_id for i in recs.items]
                models["recommender"] = str(recs.model)
                if getattr(recs, "fallback", False):
                    fallbacks.append(f"recommender_{recs.fallback_reason or 'fallback'}")
            except Exception:
                log.exception("ranking: recommender candidates failed")
                failed = True
    popular: list[str] = []
    if failed or not (searched or recommended):
        popular = snap.popular_in(region)
        fallbacks.append(FALLBACK_REGION_POPULAR)
    ids, score, source = merge(
        [searched, recommended, popular], limit=limit, scores=[searched_scores, None, None]
    )
    return CandidateSet(
        ids=ids,
        retrieval=score,
        from_search=source == 0,
        from_recommender=source == 1,
        models=models,
        fallbacks=fallbacks,
    )
