"""Most-popular baseline: items ranked by how many users interacted with them.

Example:
    >>> data = InteractionMatrix.from_triples([("u1", "a1", 1), ("u2", "a1", 1), ("u2", "a2", 1)])
    >>> PopularityRecommender().fit(data).recommend("u3", 1)  # unknown users get []
    []
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from agora.recommend.base import InteractionMatrix
from agora.recommend.matrix import MatrixRecommender


class PopularityRecommender(MatrixRecommender):
    """Non-personal baseline (the benchmark's ``popularity`` row)."""

    name = "popularity"

    def _fit(self, data: InteractionMatrix) -> None:
        self.counts = data.popularity()

    def _scores(self, user_row: int | None, history: sp.csr_matrix) -> np.ndarray:
        return self.counts

    def _similar(self, item_idx: int) -> np.ndarray:
        return self.counts
