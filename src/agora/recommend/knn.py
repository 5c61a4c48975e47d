"""Item-item neighbours with cosine or BM25 weighting (implicit's nearest-neighbour models).

Scores are ``x_u S`` where ``S`` keeps each item's ``k`` nearest neighbours.

Example:
    >>> data = InteractionMatrix.from_triples([("u1", "a1", 1), ("u1", "a2", 1),
    ...                                        ("u2", "a1", 1), ("u2", "a2", 1), ("u3", "a1", 1)])
    >>> [i.asset_id for i in ItemKnnRecommender(k=5).fit(data).recommend("u3", 1)]
    ['a2']
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from implicit.nearest_neighbours import ItemItemRecommender, bm25_weight, normalize

from agora.recommend.base import InteractionMatrix
from agora.recommend.matrix import MatrixRecommender

Weighting = Literal["cosine", "bm25"]


class ItemKnnRecommender(MatrixRecommender):
    """Item-kNN; ``weighting="bm25"`` damps heavy users and popular items (K1, B)."""

    name = "item_knn"

    def __init__(
        self,
        k: int = 100,
        *,
        weighting: Weighting = "bm25",
        k1: float = 1.2,
        b: float = 0.75,
        num_threads: int = 1,
    ):
        self.k = k
        self.weighting = weighting
        self.k1 = k1
        self.b = b
        self.num_threads = num_threads

    def params(self) -> dict[str, Any]:
        return {"k": self.k, "weighting": self.weighting, "k1": self.k1, "b": self.b}

    def _fit(self, data: InteractionMatrix) -> None:
        # What implicit's BM25Recommender / CosineRecommender fit, weighted here
        # and handed over as CSR: theirs pass the COO matrix the weighting
        # returns, and implicit converts it with a ParameterWarning on every fit.
        counts = data.matrix.T
        if self.weighting == "bm25":
            weighted = bm25_weight(counts, K1=self.k1, B=self.b).T
        else:
            weighted = normalize(counts).T
        model = ItemItemRecommender(K=self.k, num_threads=self.num_threads)
        model.fit(sp.csr_matrix(weighted), show_progress=False)
        self.similarity = sp.csr_matrix(model.similarity, dtype=np.float32)

    def _scores(self, user_row: int | None, history: sp.csr_matrix) -> np.ndarray:
        return np.asarray((history @ self.similarity).todense()).ravel()

    def _similar(self, item_idx: int) -> np.ndarray:
        return np.asarray(self.similarity[item_idx].todense()).ravel()
