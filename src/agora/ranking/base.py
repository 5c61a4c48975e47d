"""Ranking request/result types, fallback names and the pluggable sources.

The pipeline (``agora.ranking.pipeline``) runs six stages; each stage is a
small unit that reads and writes a :class:`RankState`. Sources that other
capabilities provide (search, recommendations, sponsored campaigns, fraud
scores) are Protocols here so ranking never imports a router or a backend.

Example:
    >>> item = RankedItem("a1", position=1, score=0.42, seller_id="s1")
    >>> item.to_dict()["position"]
    1
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

# Fallback names: flagged in responses, counted in agora_fallbacks_total{kind}.
FALLBACK_REGION_POPULAR = "candidates_popular_in_region"
FALLBACK_FEATURES_SLOW = "features_slow_popularity_weights"
FALLBACK_NO_MODEL = "no_model_popularity_weights"
FALLBACK_TRENDING = "deadline_trending_globally"
FALLBACK_SCORER_ERROR = "scorer_error_popularity_weights"

STAGES = ("candidates", "prefilter", "hydration", "scoring", "rerank", "polish")


@dataclass(frozen=True)
class RankRequest:
    """One feed (``query`` is None) or ranked-search request."""

    user_id: str | None
    query: str | None = None
    n: int = 20
    explain: bool = False
    # Also report which candidates each filter removed (``RankedList.removed``):
    # an inspector's question, not computed for a served feed.
    inspect: bool = False
    max_distance_km: float | None = None  # None: the settings' default
    now: float | None = None  # epoch seconds; None: the current time


@dataclass
class RankedItem:
    """One served slot. ``score`` is comparable within one list only."""

    asset_id: str
    position: int
    score: float
    seller_id: str | None = None
    sponsored: bool = False
    pctr: float | None = None
    pcvr: float | None = None
    seller_trust: float | None = None
    boost: float = 0.0
    explanation: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "asset_id": self.asset_id,
            "position": self.position,
            "score": round(float(self.score), 6),
            "seller_id": self.seller_id,
            "sponsored": self.sponsored,
            "pctr": None if self.pctr is None else round(float(self.pctr), 6),
            "pcvr": None if self.pcvr is None else round(float(self.pcvr), 6),
            "seller_trust": None if self.seller_trust is None else round(self.seller_trust, 4),
            "boost": round(float(self.boost), 4),
        }
        if self.explanation is not None:
            out["explanation"] = self.explanation
        return out


@dataclass
class RankedList:
    """What the API returns: items plus provenance, timings and fallbacks."""

    request_id: str
    user_id: str | None
    query: str | None
    items: list[RankedItem]
    models: dict[str, str] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)
    fallbacks: list[str] = field(default_factory=list)
    trending: bool = False  # the deadline passed: the cached trending-globally list
    # Served model versions and their canary role: {name: {"version", "role"}}.
    serving: dict[str, dict[str, str]] = field(default_factory=dict)
    model_errors: list[str] = field(default_factory=list)  # name@version that failed to score
    # Only for an ``inspect`` request: filter -> asset ids it removed, in candidate order.
    removed: dict[str, list[str]] | None = None

    @property
    def organic(self) -> int:
        """Slots ranked by the scorer (not sponsored): the impressions a model is judged on."""
        return sum(not i.sponsored for i in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "user_id": self.user_id,
            "query": self.query,
            "trending_fallback": self.trending,
            "fallbacks": list(self.fallbacks),
            "models": dict(self.models),
            "serving": {k: dict(v) for k, v in self.serving.items()},
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
            "items": [i.to_dict() for i in self.items],
        } | (
            {}
            if self.removed is None
            else {"removed": {k: list(v) for k, v in self.removed.items()}}
        )


@dataclass
class CandidateSet:
    """Recall output: catalog ids with a retrieval score in [0, 1] and provenance."""

    ids: list[str]
    retrieval: np.ndarray  # 1.0 = best of its source, 0 = worst / unknown
    from_search: np.ndarray  # bool per candidate
    from_recommender: np.ndarray  # bool per candidate
    models: dict[str, str] = field(default_factory=dict)
    fallbacks: list[str] = field(default_factory=list)


@runtime_checkable
class SponsoredSource(Protocol):
    """Paid placements eligible for a request, best bid first."""

    def sponsored(
        self, admit: Callable[[np.ndarray], np.ndarray], exclude: set[str], k: int
    ) -> list[str]:
        """Up to ``k`` asset ids, not in ``exclude``, whose catalog rows ``admit`` passes
        (the request's hard rules)."""


@runtime_checkable
class FraudScorer(Protocol):
    """Fraud risk in [0, 1] per catalog row (rule-based now, a model later)."""

    model: str  # name@version

    def risk(self, rows: np.ndarray) -> np.ndarray:
        """Risk per catalog row index in ``rows``."""


__all__ = [
    "FALLBACK_FEATURES_SLOW",
    "FALLBACK_NO_MODEL",
    "FALLBACK_REGION_POPULAR",
    "FALLBACK_SCORER_ERROR",
    "FALLBACK_TRENDING",
    "STAGES",
    "CandidateSet",
    "FraudScorer",
    "RankRequest",
    "RankedItem",
    "RankedList",
    "SponsoredSource",
]
