"""Hybrid blend: candidates from several recommenders, re-ranked by learned weights.

For one user, each component scores the whole catalog; every component's
scores are standardised (z-scores over the unseen items) so their scales
match, the union of each component's top ``pool`` items forms the candidate
set, and a candidate's score is ``sum_c w_c z_c`` plus ``w_profile`` times the
cosine between its embedding and the user's content profile (when a content
model is attached). The weights are learned by :meth:`HybridRecommender.
fit_blend` (one split) or ``agora.recommend.jobs.fit_hybrid`` (several folds):
coordinate ascent on NDCG@k over validation splits carved from the training
data, never the test data (``agora.recommend.blend``).

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
from agora.recommend.blend import BlendTable, search_weights, standardise
from agora.recommend.content import ContentRecommender
from agora.recommend.matrix import MatrixRecommender, NotFitted

Scorer = Callable[[MatrixRecommender], "tuple[np.ndarray, np.ndarray] | None"]


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
        self, scorer: Scorer, history: Mapping[str, float] | None, user: str | None = None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(scores over the catalog, seen indexes); ``user`` names a user of the matrix."""
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
            parts[name] = standardise(scores, seen)
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
        return self._top(lambda c: c.score_user(user), history, n, exclude_seen, filters, user=user)

    def recommend_history(
        self,
        history: Mapping[str, float],
        n: int = 10,
        *,
        exclude_seen: bool = True,
        filters: RecommendFilters | None = None,
        user: str | None = None,
    ) -> list[ScoredItem]:
        """Blend for a history given at call time (live events of the user).

        ``user`` names whose history it is, when known: the learning-to-rank
        re-ranker then adds what it knows of that user (attributes, active
        days), as it did in training.
        """
        return self._top(
            lambda c: c.score_history(history), history, n, exclude_seen, filters, user=user
        )

    def _top(
        self,
        scorer: Scorer,
        history: Mapping[str, float],
        n: int,
        exclude_seen: bool,
        filters: RecommendFilters | None,
        user: str | None = None,
    ) -> list[ScoredItem]:
        blended = self._blend(scorer, history, user)
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
    def blend_table(
        self, validation: Mapping[str, set[str]], *, max_users: int = 3000, seed: int = 0
    ) -> BlendTable:
        """Every component's z-scores for the validation users (at most ``max_users``).

        ``validation`` maps users of the fitted matrix to held-out assets (a
        split of the training data, never the test data).
        """
        data = self.data
        if data is None:
            raise NotFitted("hybrid is not fitted")
        users = [u for u in validation if u in data.user_index]
        if len(users) > max_users:
            pick = np.random.default_rng(seed).choice(len(users), max_users, replace=False)
            users = [users[i] for i in sorted(pick)]
        n_items = len(data.item_ids)
        truth = np.zeros((len(users), n_items), dtype=bool)
        for r, u in enumerate(users):
            cols = [data.item_index[a] for a in validation[u] if a in data.item_index]
            truth[r, cols] = True
        scores: dict[str, np.ndarray] = {}
        for name, component in self.components.items():
            z = np.zeros((len(users), n_items), dtype=np.float32)
            for r, u in enumerate(users):
                scored = component.score_user(u)
                if scored is not None:
                    z[r] = standardise(*scored)
                    z[r, scored[1]] = -np.inf
            scores[name] = z
        return BlendTable(scores, truth)

    def fit_blend(
        self, validation: Mapping[str, set[str]], *, k: int = 10, rounds: int = 3
    ) -> dict[str, float]:
        """Learn the weights on one validation split (see :func:`search_weights`); returns them."""
        self.weights = search_weights([self.blend_table(validation)], k=k, rounds=rounds)
        return self.weights
