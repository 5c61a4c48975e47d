"""Hybrid blend: candidates from several recommenders, re-ranked by learned weights.

For one user, each component scores the whole catalog; every component's
scores are standardised (z-scores over the unseen items) so their scales
match, the union of each component's top ``pool`` items forms the candidate
set, and a candidate's score is ``sum_c w_c z_c`` plus ``w_profile`` times the
cosine between its embedding and the user's content profile (when a content
model is attached). The weights are learned by :meth:`HybridRecommender.
fit_blend`: coordinate ascent on NDCG@k over a validation split carved from the
training data, never the test data.

De-duplication is inherent (one score per asset); seller diversity and the
catalog filters (inactive, banned seller, out of stock, purchased) are applied
by the serving layer, which knows the catalog (``agora.recommend.eligibility``).

Example:
    >>> from agora.recommend.ease import EaseRecommender
    >>> from agora.recommend.popularity import PopularityRecommender
    >>> data = InteractionMatrix.from_triples([("u1", "a1", 1), ("u1", "a2", 1),
    ...                                        ("u2", "a1", 1), ("u2", "a2", 1), ("u3", "a1", 1)])
    >>> h = HybridRecommender({"ease": EaseRecommender(1.0), "popularity": PopularityRecommender()})
    >>> [i.asset_id for i in h.fit(data).recommend("u3", 1)]
    ['a2']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Self

import numpy as np

from agora.recommend.base import InteractionMatrix, Recommender, RecommendFilters, ScoredItem, top_n
from agora.recommend.content import ContentRecommender
from agora.recommend.matrix import MatrixRecommender, NotFitted
from agora.recommend.metrics import ranking_metrics

Scorer = Callable[[MatrixRecommender], "tuple[np.ndarray, np.ndarray] | None"]


def _standardise(scores: np.ndarray, seen: np.ndarray) -> np.ndarray:
    mask = np.ones(len(scores), dtype=bool)
    mask[seen] = False
    pool = scores[mask]
    if pool.size < 2:
        return np.zeros_like(scores)
    std = float(pool.std())
    return (scores - float(pool.mean())) / (std if std > 0 else 1.0)


class HybridRecommender(Recommender):
    """Weighted blend of fitted components sharing one item space."""

    name = "hybrid"

    def __init__(
        self,
        components: Mapping[str, MatrixRecommender],
        weights: Mapping[str, float] | None = None,
        *,
        pool: int = 200,
        content: ContentRecommender | None = None,
        profile_weight: float = 0.0,
    ):
        self.components = dict(components)
        self.weights = dict(weights or dict.fromkeys(self.components, 1.0))
        self.pool = pool
        self.content = content
        self.profile_weight = profile_weight
        self.data: InteractionMatrix | None = None

    def params(self) -> dict[str, Any]:
        return {
            "weights": self.weights,
            "pool": self.pool,
            "profile_weight": self.profile_weight,
            **{f"{n}.{k}": v for n, c in self.components.items() for k, v in c.params().items()},
        }

    def fit(self, data: InteractionMatrix) -> Self:
        for component in self.components.values():
            component.fit(data)
        self.data = data
        return self

    def knows_user(self, user: str) -> bool:
        return self.data is not None and user in self.data.user_index

    # -- scoring ---------------------------------------------------------------
    def _blend(
        self, scorer: Scorer, history: Mapping[str, float] | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        if self.data is None:
            raise NotFitted("hybrid is not fitted")
        parts: dict[str, np.ndarray] = {}
        seen: np.ndarray = np.empty(0, dtype=np.int64)
        for name, component in self.components.items():
            if self.weights.get(name, 0.0) == 0.0:
                continue
            scored = scorer(component)
            if scored is None:
                continue
            scores, seen = scored
            parts[name] = _standardise(scores, seen)
        if not parts:
            return None
        n_items = len(self.data.item_ids)
        candidates = np.zeros(n_items, dtype=bool)
        pool = min(self.pool, n_items)
        for z in parts.values():
            masked = z.copy()
            masked[seen] = -np.inf
            candidates[np.argpartition(-masked, pool - 1)[:pool]] = True
        blended = np.full(n_items, -np.inf, dtype=np.float32)
        idx = np.flatnonzero(candidates)
        blended[idx] = sum(self.weights[name] * z[idx] for name, z in parts.items())
        if self.content is not None and self.profile_weight and history:
            sims = self.content.profile_similarity(history, [self.data.item_ids[i] for i in idx])
            blended[idx] += self.profile_weight * sims
        return blended, seen

    def recommend(
        self,
        user: str,
        n: int = 10,
        *,
        exclude_seen: bool = True,
        filters: RecommendFilters | None = None,
    ) -> list[ScoredItem]:
        data = self.data
        if data is None or user not in data.user_index:
            return []
        row = data.matrix[data.user_index[user]]
        history = {data.item_ids[j]: float(v) for j, v in zip(row.indices, row.data, strict=True)}
        return self._top(lambda c: c.score_user(user), history, n, exclude_seen, filters)

    def recommend_history(
        self,
        history: Mapping[str, float],
        n: int = 10,
        *,
        exclude_seen: bool = True,
        filters: RecommendFilters | None = None,
    ) -> list[ScoredItem]:
        """Blend for a history given at call time (live events of the user)."""
        return self._top(lambda c: c.score_history(history), history, n, exclude_seen, filters)

    def _top(
        self,
        scorer: Scorer,
        history: Mapping[str, float],
        n: int,
        exclude_seen: bool,
        filters: RecommendFilters | None,
    ) -> list[ScoredItem]:
        blended = self._blend(scorer, history)
        if blended is None or self.data is None:
            return []
        scores, seen = blended
        return top_n(
            scores,
            self.data.item_ids,
            n,
            self.name,
            banned=seen if exclude_seen else None,
            filters=filters,
        )

    def similar_items(
        self, item: str, n: int = 10, *, filters: RecommendFilters | None = None
    ) -> list[ScoredItem]:
        # Item-to-item: the strongest weighted component answers (EASE or kNN).
        ranked = sorted(self.components, key=lambda c: -self.weights.get(c, 0.0))
        for name in ranked:
            hits = self.components[name].similar_items(item, n, filters=filters)
            if hits:
                return hits
        return []

    # -- learning the blend ----------------------------------------------------
    def fit_blend(
        self,
        validation: Mapping[str, set[str]],
        *,
        k: int = 10,
        grid: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0),
        rounds: int = 2,
    ) -> dict[str, float]:
        """Learn the weights by coordinate ascent on validation NDCG@k; returns them.

        ``validation`` maps users of the fitted matrix to held-out assets (a
        split of the training data). The first component keeps weight 1 as the
        scale anchor; each other weight (and the profile weight) is searched on
        ``grid`` in turn, ``rounds`` times.
        """
        users = [u for u in validation if self.knows_user(u)]
        cache = {name: self._component_scores(c, users) for name, c in self.components.items()}

        def score(weights: dict[str, float]) -> float:
            preds = {u: self._cached_top(cache, weights, u, i, k) for i, u in enumerate(users)}
            return ranking_metrics(preds, validation, k=k)[f"ndcg@{k}"]

        names = list(self.components)
        weights = {name: (1.0 if i == 0 else 0.0) for i, name in enumerate(names)}
        best = score(weights)
        for _ in range(rounds):
            for name in names[1:]:
                for value in grid:
                    trial = {**weights, name: value}
                    s = score(trial)
                    if s > best + 1e-6:
                        best, weights = s, trial
        self.weights = weights
        return weights

    def _component_scores(
        self, component: MatrixRecommender, users: list[str]
    ) -> list[tuple[np.ndarray, np.ndarray] | None]:
        out: list[tuple[np.ndarray, np.ndarray] | None] = []
        for u in users:
            scored = component.score_user(u)
            out.append(None if scored is None else (_standardise(*scored), scored[1]))
        return out

    def _cached_top(
        self,
        cache: dict[str, list[tuple[np.ndarray, np.ndarray] | None]],
        weights: dict[str, float],
        user: str,
        i: int,
        k: int,
    ) -> list[str]:
        assert self.data is not None
        total: np.ndarray | None = None
        seen: np.ndarray = np.empty(0, dtype=np.int64)
        for name, w in weights.items():
            entry = cache[name][i]
            if w == 0.0 or entry is None:
                continue
            z, seen = entry
            total = w * z if total is None else total + w * z
        if total is None:
            return []
        return [s.asset_id for s in top_n(total, self.data.item_ids, k, "", banned=seen)]
