"""Shared scoring for models learned from the user-item matrix.

A :class:`MatrixRecommender` keeps its training matrix so it can exclude what a
user has seen and score a *history* (a user who arrived after training, or the
live history read at serving time) without refitting.

Example:
    >>> from agora.recommend.popularity import PopularityRecommender
    >>> data = InteractionMatrix.from_triples([("u1", "a1", 1), ("u2", "a1", 1), ("u2", "a2", 1)])
    >>> [i.asset_id for i in PopularityRecommender().fit(data).recommend("u1", 2)]
    ['a2']
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Self

import numpy as np
import scipy.sparse as sp

from agora.errors import Conflict
from agora.recommend.base import (
    InteractionMatrix,
    Recommender,
    RecommendFilters,
    ScoredItem,
    top_n,
)


class NotFitted(Conflict):
    """A model was asked to score before ``fit``."""


def history_row(cols: np.ndarray, weights: np.ndarray, n_items: int) -> sp.csr_matrix:
    """A 1 x ``n_items`` row of ``weights`` at the distinct item indexes ``cols``.

    Built from the CSR arrays directly: the (data, (rows, cols)) form goes
    through COO and costs ~0.25 ms, four times a hybrid request.
    """
    order = np.argsort(cols, kind="stable")
    return sp.csr_matrix(
        (np.asarray(weights, np.float32)[order], np.asarray(cols, np.int32)[order],
         np.array([0, len(cols)], np.int32)),
        shape=(1, n_items),
    )  # fmt: skip


def weighted_row_sum(
    m: sp.csr_matrix, rows: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """``sum_r weights[r] * m[rows[r]]`` as a dense float64 vector.

    Read off the CSR arrays: per request, a sparse row times a sparse matrix
    (or fancy row indexing) builds intermediate sparse matrices whose checks
    cost more than the sum itself.
    """
    pos, counts = stored_entries(m, rows)
    values = m.data[pos].astype(np.float64)
    if weights is not None:
        values *= np.repeat(np.asarray(weights, np.float64), counts)
    return np.bincount(m.indices[pos], weights=values, minlength=m.shape[1])


def row_max(m: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """``m[rows].toarray().max(axis=0)`` (unstored entries are zeros) off the CSR arrays.

    ``m`` must be canonical (no duplicate entries, as scipy's products and
    constructors leave it); no rows give zeros.
    """
    if not len(rows):
        return np.zeros(m.shape[1])
    pos, _ = stored_entries(m, rows)
    cols = m.indices[pos]
    out = np.full(m.shape[1], -np.inf)
    np.maximum.at(out, cols, m.data[pos].astype(np.float64))
    # A column some chosen row does not store has a zero among its values.
    partial = np.bincount(cols, minlength=m.shape[1]) < len(rows)
    out[partial] = np.maximum(out[partial], 0.0)
    return out


def stored_entries(m: sp.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``m.data`` of every stored entry of ``rows``, and each row's count."""
    rows = np.asarray(rows, dtype=np.int64)
    starts, counts = m.indptr[rows], m.indptr[rows + 1] - m.indptr[rows]
    # Each row's start, then 0, 1, 2, ...
    firsts = np.cumsum(counts) - counts
    return np.repeat(starts - firsts, counts) + np.arange(int(counts.sum())), counts


class MatrixRecommender(Recommender):
    """Base for ALS, BPR, EASE, item-kNN and popularity: dense scores over the catalog."""

    data: InteractionMatrix | None = None

    def fit(self, data: InteractionMatrix) -> Self:
        self.data = data
        self._fit(data)
        return self

    @abstractmethod
    def _fit(self, data: InteractionMatrix) -> None: ...

    @abstractmethod
    def _scores(self, user_row: int | None, history: sp.csr_matrix) -> np.ndarray | None:
        """Scores for every item; ``history`` is a 1 x n_items row. None: cannot score."""

    @abstractmethod
    def _similar(self, item_idx: int) -> np.ndarray:
        """Similarity of every item to ``item_idx``."""

    def _data(self) -> InteractionMatrix:
        if self.data is None:
            raise NotFitted(f"{self.name} is not fitted")
        return self.data

    def knows_user(self, user: str) -> bool:
        return self.data is not None and user in self.data.user_index

    def score_user(self, user: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(scores, seen item indexes) for a user of the training matrix."""
        data = self._data()
        row = data.user_index.get(user)
        if row is None:
            return None
        history = data.matrix[row]
        scores = self._scores(row, history)
        return None if scores is None else (scores, history.indices)

    def score_history(self, history: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray] | None:
        """(scores, seen item indexes) for an arbitrary history ``{asset_id: weight}``."""
        data = self._data()
        index = data.item_index
        known = [(index[a], float(w)) for a, w in history.items() if a in index]
        if not known:
            return None
        cols = np.array([c for c, _ in known], dtype=np.int64)
        row = history_row(cols, np.array([w for _, w in known]), len(data.item_ids))
        scores = self._scores(None, row)
        return None if scores is None else (scores, cols)

    def recommend(
        self,
        user: str,
        n: int = 10,
        *,
        exclude_seen: bool = True,
        filters: RecommendFilters | None = None,
    ) -> list[ScoredItem]:
        return self._top(self.score_user(user), n, exclude_seen, filters)

    def recommend_history(
        self,
        history: Mapping[str, float],
        n: int = 10,
        *,
        exclude_seen: bool = True,
        filters: RecommendFilters | None = None,
        user: str | None = None,
    ) -> list[ScoredItem]:
        """Like ``recommend`` for a history given at call time (live or session events).

        The history is all this model scores; one that cannot score it (BPR
        folds in no one) answers for ``user`` when it knows them, as the
        contract says, without the history's items either.
        """
        scored = self.score_history(history)
        if scored is None and user is not None:
            scored = self.score_user(user)
            if scored is not None:
                index = self._data().item_index
                known = [index[a] for a in history if a in index]
                scored = (scored[0], np.union1d(scored[1], np.asarray(known, dtype=np.int64)))
        return self._top(scored, n, exclude_seen, filters)

    def _top(
        self,
        scored: tuple[np.ndarray, np.ndarray] | None,
        n: int,
        exclude_seen: bool,
        filters: RecommendFilters | None,
    ) -> list[ScoredItem]:
        if scored is None:
            return []
        scores, seen = scored
        banned = seen if exclude_seen else None
        return top_n(scores, self._data().item_ids, n, self.name, banned=banned, filters=filters)

    def similar_items(
        self, item: str, n: int = 10, *, filters: RecommendFilters | None = None
    ) -> list[ScoredItem]:
        data = self._data()
        idx = data.item_index.get(item)
        if idx is None:
            return []
        return top_n(
            self._similar(idx),
            data.item_ids,
            n,
            self.name,
            banned=np.asarray([idx]),
            filters=filters,
        )
