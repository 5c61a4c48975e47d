"""Content-based recommendations from asset embeddings and the user's recent history.

Each asset's vector is the concatenation of its L2-normalised text and image
embeddings (from the search capability's ``asset_text`` / ``asset_image``
vector indexes), each scaled by 1/sqrt(2): the cosine of two such vectors is
the mean of the text and image cosines when both exist. A user's profile is
the decay-weighted mean of the vectors of their recent assets; candidates are
ranked by cosine to it. This is what serves new items (no interactions yet,
but an embedding) and session-only users.

Example:
    >>> emb = {"a1": np.array([1.0, 0.0]), "a2": np.array([0.9, 0.1]), "a3": np.array([0.0, 1.0])}
    >>> model = ContentRecommender().fit(InteractionMatrix.from_triples([]), embeddings=emb)
    >>> [i.asset_id for i in model.recommend_history({"a1": 1.0}, 1)]
    ['a2']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Self

import numpy as np

from agora.recommend.base import InteractionMatrix, Recommender, RecommendFilters, ScoredItem, top_n


class ContentRecommender(Recommender):
    """Cosine between asset embeddings and a decay-weighted history profile."""

    name = "content"

    def __init__(self) -> None:
        self.item_ids: list[str] = []
        self.item_index: dict[str, int] = {}
        self.vectors = np.zeros((0, 0), dtype=np.float32)
        self.data: InteractionMatrix | None = None

    def fit(
        self, data: InteractionMatrix, *, embeddings: Mapping[str, np.ndarray] | None = None
    ) -> Self:
        """Keep the histories of ``data`` and the (normalised) ``embeddings``."""
        self.data = data
        embeddings = embeddings or {}
        self.item_ids = list(embeddings)
        self.item_index = {a: i for i, a in enumerate(self.item_ids)}
        if self.item_ids:
            m = np.vstack([np.asarray(embeddings[a], np.float32).ravel() for a in self.item_ids])
            m /= np.linalg.norm(m, axis=1, keepdims=True) + 1e-9
            self.vectors = m
        return self

    @property
    def ready(self) -> bool:
        """False when no embeddings were available (the search index is absent)."""
        return bool(self.item_ids)

    def knows_user(self, user: str) -> bool:
        return self.ready and self.data is not None and user in self.data.user_index

    def profile(self, history: Mapping[str, float]) -> np.ndarray | None:
        """Unit-length weighted mean of the history's vectors; None if none embedded."""
        idx = [self.item_index[a] for a in history if a in self.item_index]
        if not idx:
            return None
        w = np.asarray([history[self.item_ids[i]] for i in idx], np.float32)
        vec = (self.vectors[idx] * w[:, None]).sum(axis=0)
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm > 0 else None

    def profile_similarity(
        self, history: Mapping[str, float], asset_ids: Sequence[str]
    ) -> np.ndarray:
        """Cosine of each asset to the history profile (0 for assets without a vector)."""
        out = np.zeros(len(asset_ids), dtype=np.float32)
        prof = self.profile(history)
        if prof is None:
            return out
        for k, a in enumerate(asset_ids):
            i = self.item_index.get(a)
            if i is not None:
                out[k] = float(self.vectors[i] @ prof)
        return out

    def recommend_history(
        self,
        history: Mapping[str, float],
        n: int = 10,
        *,
        exclude_seen: bool = True,
        filters: RecommendFilters | None = None,
        user: str | None = None,
    ) -> list[ScoredItem]:
        """Assets nearest to the profile of ``history`` (session views, live events)."""
        # ``user`` is not needed: the history is all this model scores.
        prof = self.profile(history)
        if prof is None:
            return []
        seen = np.asarray([self.item_index[a] for a in history if a in self.item_index])
        return top_n(
            self.vectors @ prof,
            self.item_ids,
            n,
            self.name,
            banned=seen if exclude_seen else None,
            filters=filters,
        )

    def recommend(
        self,
        user: str,
        n: int = 10,
        *,
        exclude_seen: bool = True,
        filters: RecommendFilters | None = None,
    ) -> list[ScoredItem]:
        if self.data is None or user not in self.data.user_index:
            return []
        row = self.data.matrix[self.data.user_index[user]]
        history = {
            self.data.item_ids[j]: float(v) for j, v in zip(row.indices, row.data, strict=True)
        }
        return self.recommend_history(history, n, exclude_seen=exclude_seen, filters=filters)

    def similar_items(
        self, item: str, n: int = 10, *, filters: RecommendFilters | None = None
    ) -> list[ScoredItem]:
        i = self.item_index.get(item)
        if i is None:
            return []
        return top_n(
            self.vectors @ self.vectors[i],
            self.item_ids,
            n,
            self.name,
            banned=np.asarray([i]),
            filters=filters,
        )
