"""Personalised recommendations: ALS, BPR, EASE, item-kNN, content, trending, hybrid, bandit.

Example:
    >>> from agora.recommend import ALGORITHMS
    >>> "smart" in ALGORITHMS
    True
"""

from agora.recommend.base import (
    ALGORITHMS,
    InteractionMatrix,
    Recommendations,
    Recommender,
    RecommendFilters,
    ScoredItem,
    top_n,
)

__all__ = [
    "ALGORITHMS",
    "InteractionMatrix",
    "RecommendFilters",
    "Recommendations",
    "Recommender",
    "ScoredItem",
    "top_n",
]
