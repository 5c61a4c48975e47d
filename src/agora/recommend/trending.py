"""Trending: time-decayed velocity of interactions over a rolling window, per region and category.

An event of type ``t`` at age ``a`` (hours, ``a <= window_h``) adds
``w_t * 2^(-a / half_life_h)`` to its asset; dividing by the window gives a
decayed rate (events-equivalent per hour). Lists are kept for every
(region, category) pair seen plus the wildcards ``*``, so a request with a
category and a region gets the most specific list and is padded from broader
ones (region -> all regions), then from all-time popularity of that category
(a quiet marketplace still gets a list). The result is non-personal: it is the
fallback of every other algorithm and what users without personalisation
consent receive.

Example:
    >>> t = TrendingRecommender(window_h=48, half_life_h=12)
    >>> now = 1_000_000.0
    >>> t = t.fit_events([("a1", "view", now - 3600, "eu", "props"),
    ...                   ("a2", "purchase", now - 7200, "eu", "tex")], now=now)
    >>> [i.asset_id for i in t.recommend("anyone", 2)]
    ['a2', 'a1']
    >>> [i.asset_id for i in t.recommend("anyone", 2, filters=RecommendFilters(category="props"))]
    ['a1']
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, Self

from agora.recommend.base import InteractionMatrix, Recommender, RecommendFilters, ScoredItem

ANY = "*"
DEFAULT_WEIGHTS = {"view": 1.0, "click": 1.5, "favorite": 3.0, "add_to_cart": 5.0, "purchase": 10.0}

Event = tuple[
    str, str, float, "str | None", "str | None"
]  # asset, type, ts (epoch s), region, category


class TrendingRecommender(Recommender):
    """Per (region, category) trending lists, padded from all-time popularity."""

    name = "trending"

    def __init__(
        self,
        *,
        window_h: float = 48.0,
        half_life_h: float = 12.0,
        weights: Mapping[str, float] | None = None,
        keep: int = 1000,
    ):
        self.window_h = window_h
        self.half_life_h = half_life_h
        self.weights = dict(weights or DEFAULT_WEIGHTS)
        self.keep = keep
        self.trending: dict[tuple[str, str], list[tuple[str, float]]] = {}
        self.popular: dict[str, list[tuple[str, float]]] = {}
        self.computed_at: float | None = None

    def params(self) -> dict[str, Any]:
        return {"window_h": self.window_h, "half_life_h": self.half_life_h, "weights": self.weights}

    def fit(self, data: InteractionMatrix) -> Self:
        """All-time popularity only (no timestamps in a matrix); see ``fit_events``."""
        pop = data.popularity()
        ranked = sorted(zip(data.item_ids, pop.tolist(), strict=True), key=lambda x: -x[1])
        self.popular = {ANY: ranked[: self.keep]}
        return self

    def fit_events(self, events: Iterable[Event], *, now: float) -> Self:
        """Compute every list from ``(asset_id, type, ts, region, category)`` events."""
        window_s = self.window_h * 3600.0
        decay = math.log(2.0) / (self.half_life_h * 3600.0)
        recent: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
        alltime: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for asset, etype, ts, region, category in events:
            w = self.weights.get(etype, 0.0)
            if w <= 0:
                continue
            cat = category or ANY
            for c in {cat, ANY}:
                alltime[c][asset] += w
            age = now - ts
            if 0 <= age <= window_s:
                v = w * math.exp(-decay * age) / self.window_h
                for key in {(region or ANY, cat), (region or ANY, ANY), (ANY, cat), (ANY, ANY)}:
                    recent[key][asset] += v
        self.trending = {k: self._ranked(v) for k, v in recent.items()}
        self.popular = {k: self._ranked(v) for k, v in alltime.items()}
        self.computed_at = now
        return self

    def _ranked(self, scores: Mapping[str, float]) -> list[tuple[str, float]]:
        return sorted(scores.items(), key=lambda x: (-x[1], x[0]))[: self.keep]

    def recommend(
        self,
        user: str | None = None,
        n: int = 10,
        *,
        exclude_seen: bool = True,
        filters: RecommendFilters | None = None,
    ) -> list[ScoredItem]:
        """Most specific list first; ``user`` is ignored (non-personal)."""
        f = filters or RecommendFilters()
        cat = f.category or ANY
        sources: list[tuple[str, list[tuple[str, float]]]] = [
            ("trending", self.trending.get((f.region or ANY, cat), [])),
            ("trending", self.trending.get((ANY, cat), [])),
            ("popular", self.popular.get(cat, [])),
        ]
        out: list[ScoredItem] = []
        taken: set[str] = set()
        # Padding items score below every item of the list before them.
        floor = math.inf
        for source, ranked in sources:
            level_min = floor
            for asset, score in ranked:
                if len(out) >= n:
                    return out
                if asset in taken or not f.admits(asset):
                    continue
                s = min(score, floor - 1e-9) if math.isfinite(floor) else score
                out.append(ScoredItem(asset, s, self.name if source == "trending" else "popular"))
                taken.add(asset)
                level_min = min(level_min, s)
            floor = level_min
        return out

    def similar_items(
        self, item: str, n: int = 10, *, filters: RecommendFilters | None = None
    ) -> list[ScoredItem]:
        """Trending has no notion of item similarity."""
        return []
