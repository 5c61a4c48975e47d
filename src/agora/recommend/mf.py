"""Implicit-feedback matrix factorisation via ``implicit``: ALS (Hu, Koren, Volinsky
2008) and BPR (Rendle et al. 2009) on the decay-weighted matrix.

ALS reads the cell values as confidence (``1 + alpha * w``); BPR samples
(user, positive, negative) triples and ignores the magnitudes. A user who is
not in the training matrix but has a history is folded in by ALS's closed-form
user solve (the same as implicit's ``recalculate_user``, in NumPy); BPR cannot
fold in and returns nothing.

Example:
    >>> data = InteractionMatrix.from_triples([("u1", "a1", 1), ("u1", "a2", 1),
    ...                                        ("u2", "a1", 1), ("u3", "a3", 1)])
    >>> als = AlsRecommender(factors=4, iterations=3, random_state=0).fit(data)
    >>> len(als.recommend("u2", 2))
    2
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from implicit.cpu.bpr import BayesianPersonalizedRanking
from threadpoolctl import ThreadpoolController, threadpool_limits

from agora.mlops.artifact_state import VersionedState
from agora.recommend.base import InteractionMatrix
from agora.recommend.matrix import MatrixRecommender


@functools.cache
def _blas() -> ThreadpoolController:
    """The process's thread pools, inspected once (``threadpool_limits`` re-scans each call)."""
    return ThreadpoolController()


class _FactorModel(MatrixRecommender):
    user_factors: np.ndarray
    item_factors: np.ndarray
    _model: Any

    def _scores(self, user_row: int | None, history: sp.csr_matrix) -> np.ndarray | None:
        # One BLAS thread for a request's products and fold-in solve: the
        # matrix-vector product is ~20 us on one and ~5 ms when it waits for a
        # second BLAS thread on a core busy with the server or LightGBM, and
        # BLAS workers spinning against the server's threads took the fold-in's
        # p99 from ~1 ms to ~200 ms (200 factors).
        with _blas().limit(limits=1, user_api="blas"):
            vec = self.user_factors[user_row] if user_row is not None else self._fold_in(history)
            return None if vec is None else self.item_factors @ vec

    def _fold_in(self, history: sp.csr_matrix) -> np.ndarray | None:
        return None

    def _adopt(self, model: Any, data: InteractionMatrix) -> None:
        """Fit an ``implicit`` model and keep its factors."""
        model.fit(data.matrix, show_progress=False)
        self._model = model
        self.user_factors = np.asarray(model.user_factors)
        self.item_factors = np.asarray(model.item_factors)

    def _similar(self, item_idx: int) -> np.ndarray:
        f = self.item_factors
        norms = np.linalg.norm(f, axis=1) + 1e-9
        return np.asarray((f @ f[item_idx]) / (norms * norms[item_idx]))


class AlsRecommender(VersionedState, _FactorModel):
    """Weighted matrix factorisation by alternating least squares.

    Stored format 2 holds the fold-in's regularised Gram matrix (``_gram``);
    format 1, pickled before versioning, may predate it and gets it computed
    at load, so serving never fills it in (a side effect of a request).
    """

    FORMAT_VERSION = 2
    name = "als"
    _gram: np.ndarray

    def __init__(
        self,
        factors: int = 64,
        *,
        regularization: float = 0.05,
        alpha: float = 2.0,
        iterations: int = 15,
        num_threads: int = 0,
        random_state: int | None = 42,
    ):
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.num_threads = num_threads
        self.random_state = random_state

    def params(self) -> dict[str, Any]:
        return {
            "factors": self.factors,
            "regularization": self.regularization,
            "alpha": self.alpha,
            "iterations": self.iterations,
        }

    def _fit(self, data: InteractionMatrix) -> None:
        # implicit's own threads do the work; a BLAS thread pool on top oversubscribes.
        with threadpool_limits(1, "blas"):
            self._fit_als(data)

    def _fit_als(self, data: InteractionMatrix) -> None:
        model = AlternatingLeastSquares(
            factors=self.factors,
            regularization=self.regularization,
            alpha=self.alpha,
            iterations=self.iterations,
            num_threads=self.num_threads,
            random_state=self.random_state,
        )
        self._adopt(model, data)
        self._gram = regularised_gram(self.item_factors, self.regularization)

    def _fold_in(self, history: sp.csr_matrix) -> np.ndarray | None:
        """One user's factors against the fixed item factors (implicit's ``recalculate_user``).

        ``x = (YtY + reg I + sum_i (c_i - 1) y_i y_i^T)^-1 sum_i c_i y_i`` with
        ``c = alpha * w``. Done here in NumPy with ``YtY + reg I`` kept from
        ``fit``: implicit recomputes YtY and a thread-pool guard on every call
        (~50 ms a request on a busy 2-core machine, against ~0.1 ms here).
        """
        if history.nnz == 0:
            return None
        gram = self._gram
        y32 = self.item_factors[history.indices]
        c = self.alpha * history.data.astype(np.float64)
        # The history's rank-update in float32 (half the time of the float64
        # product, ~0.3 ms for 200 items x 200 factors); the solve in float64.
        a = gram + (y32.T * (c - 1.0).astype(np.float32)) @ y32  # one BLAS thread: see _scores
        y = y32.astype(np.float64)
        # ``a`` is positive definite (YtY holds each history item's y y^T once,
        # c - 1 >= -1, plus reg I): Cholesky, at half an LU solve's cost.
        return np.asarray(
            scipy.linalg.cho_solve(scipy.linalg.cho_factor(a), y.T @ c), dtype=np.float32
        )


class BprRecommender(_FactorModel):
    """Bayesian personalised ranking by SGD over sampled triples."""

    name = "bpr"

    def __init__(
        self,
        factors: int = 64,
        *,
        learning_rate: float = 0.05,
        regularization: float = 0.01,
        iterations: int = 100,
        num_threads: int = 0,
        random_state: int | None = 42,
    ):
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.num_threads = num_threads
        self.random_state = random_state

    def params(self) -> dict[str, Any]:
        return {
            "factors": self.factors,
            "learning_rate": self.learning_rate,
            "regularization": self.regularization,
            "iterations": self.iterations,
        }

    def _fit(self, data: InteractionMatrix) -> None:
        model = BayesianPersonalizedRanking(
            factors=self.factors,
            learning_rate=self.learning_rate,
            regularization=self.regularization,
            iterations=self.iterations,
            num_threads=self.num_threads,
            random_state=self.random_state,
        )
        self._adopt(model, data)


def regularised_gram(item_factors: np.ndarray, regularization: float) -> np.ndarray:
    """``YtY + reg I`` in float64: the part of every fold-in solve that one model shares."""
    y = item_factors.astype(np.float64)
    return y.T @ y + regularization * np.eye(y.shape[1])


def _als_v1(state: dict[str, Any]) -> dict[str, Any]:
    """Format 1: models pickled before versioning; the oldest lack ``_gram``."""
    if "_gram" not in state and "item_factors" in state:
        state["_gram"] = regularised_gram(state["item_factors"], state["regularization"])
    return state


AlsRecommender.STATE_LOADERS = {1: _als_v1, 2: dict}
