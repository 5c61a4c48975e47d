"""RP3beta: random walk item-item graph scores with popularity damping (Paudel et al. 2016).

Three steps of a random walk on the bipartite user-item graph (item -> user ->
item), each transition probability raised to ``alpha``, and the arrival item's
score divided by its popularity to the power ``beta``:
``W[i, j] = sum_u P(u | i)^alpha P(j | u)^alpha / pop(j)^beta``. Each item keeps
its ``k`` strongest neighbours; a user's scores are ``x_u W`` with ``x_u`` the
binary history (row normalisation of ``x_u`` would not change a user's order).

Example:
    >>> data = InteractionMatrix.from_triples([("u1", "a1", 1), ("u1", "a2", 1),
    ...                                        ("u2", "a1", 1), ("u2", "a2", 1), ("u3", "a1", 1)])
    >>> [i.asset_id for i in Rp3BetaRecommender(k=5).fit(data).recommend("u3", 1)]
    ['a2']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from agora.recommend.base import InteractionMatrix
from agora.recommend.matrix import MatrixRecommender


def _row_normalised(m: sp.csr_matrix) -> sp.csr_matrix:
    sums = np.asarray(m.sum(axis=1)).ravel()
    return sp.csr_matrix(sp.diags(1.0 / np.maximum(sums, 1e-12)) @ m)


def _keep_top_k(w: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Each row's ``k`` largest entries (the neighbourhood)."""
    rows, cols, vals = [], [], []
    for i in range(w.shape[0]):
        start, end = w.indptr[i], w.indptr[i + 1]
        data, idx = w.data[start:end], w.indices[start:end]
        if len(data) > k:
            top = np.argpartition(-data, k - 1)[:k]
            data, idx = data[top], idx[top]
        rows.append(np.full(len(data), i))
        cols.append(idx)
        vals.append(data)
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=w.shape,
        dtype=np.float32,
    )


class Rp3BetaRecommender(MatrixRecommender):
    """RP3beta on the binary matrix; ``alpha`` sharpens, ``beta`` damps popular items."""

    name = "rp3beta"

    def __init__(self, alpha: float = 1.0, beta: float = 0.5, *, k: int = 200):
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def params(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "beta": self.beta, "k": self.k}

    def _fit(self, data: InteractionMatrix) -> None:
        x = data.matrix.copy().astype(np.float64)
        x.data = np.ones_like(x.data)
        p_ui = _row_normalised(x)  # user -> item
        p_iu = _row_normalised(sp.csr_matrix(x.T))  # item -> user
        if self.alpha != 1.0:
            p_ui = p_ui.power(self.alpha)
            p_iu = p_iu.power(self.alpha)
        w = sp.csr_matrix(p_iu @ p_ui)
        popularity = np.asarray(x.sum(axis=0)).ravel()
        w = sp.csr_matrix(w @ sp.diags(1.0 / np.power(np.maximum(popularity, 1.0), self.beta)))
        w.setdiag(0.0)
        w.eliminate_zeros()
        self.similarity = _keep_top_k(w, self.k)

    def _scores(self, user_row: int | None, history: sp.csr_matrix) -> np.ndarray:
        x = history.copy()
        x.data = np.ones_like(x.data)
        return np.asarray((x @ self.similarity).todense()).ravel()

    def _similar(self, item_idx: int) -> np.ndarray:
        return np.asarray(self.similarity[item_idx].todense()).ravel()
