"""Learning the hybrid's blend weights on validation splits of the training data.

A :class:`BlendTable` holds, for the users of one validation split, every
component's standardised scores (z-scores over the user's unseen items, seen
items at ``-inf``) and the held-out assets. :func:`search_weights` runs
coordinate ascent over a grid of weights maximising NDCG@k averaged over
several tables (folds): one split's optimum is noisy (a few hundred users),
the mean over folds is not. The strongest component on its own is the
anchor (weight 1), so a blend is only chosen when it beats it on validation.

Scoring a weight vector is a handful of dense matrix operations (users x
items), so a fine grid costs seconds, not minutes.

Example:
    >>> import numpy as np
    >>> z = {"a": np.array([[2.0, 1.0, 0.0]]), "b": np.array([[0.0, 1.0, 2.0]])}
    >>> table = BlendTable(z, np.array([[False, False, True]]))
    >>> search_weights([table], k=1)
    {'b': 1.0, 'a': 0.0}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

GRID: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)


@dataclass(frozen=True)
class BlendTable:
    """Component z-scores (users x items, seen = -inf) and held-out truth (bool, same shape)."""

    scores: Mapping[str, np.ndarray]
    truth: np.ndarray

    def ndcg(self, weights: Mapping[str, float], k: int = 10) -> float:
        """Mean binary NDCG@k of the blend over users with held-out items."""
        total: np.ndarray | None = None
        for name, w in weights.items():
            if w:
                part = w * self.scores[name]
                total = part if total is None else total + part
        if total is None:
            return 0.0
        return _ndcg(total, self.truth, k)


def _ndcg(scores: np.ndarray, truth: np.ndarray, k: int) -> float:
    n_rel = truth.sum(axis=1)
    rows = np.flatnonzero(n_rel)
    if rows.size == 0:
        return 0.0
    s = scores[rows]
    k = min(k, s.shape[1])
    top = np.argpartition(-s, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(s, top, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    hits = np.take_along_axis(truth[rows], top, axis=1)
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(disc)[np.minimum(n_rel[rows], k) - 1]
    return float(((hits * disc).sum(axis=1) / ideal).mean())


def standardise(scores: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """z-scores over the unseen items of one user's score vector (seen items keep theirs)."""
    mask = np.ones(len(scores), dtype=bool)
    mask[seen] = False
    pool = scores[mask]
    if pool.size < 2:
        return np.zeros_like(scores)
    std = float(pool.std())
    return (scores - float(pool.mean())) / (std if std > 0 else 1.0)


def search_weights(
    tables: Sequence[BlendTable],
    *,
    k: int = 10,
    grid: Sequence[float] = GRID,
    rounds: int = 3,
    near_best: float = 0.98,
) -> dict[str, float]:
    """Coordinate ascent on mean validation NDCG@k; returns a weight per component.

    The component that is best alone gets weight 1 (the scale anchor), and so
    does every component within ``near_best`` of it when that equal blend
    scores at least as well as the anchor alone; each other weight is searched
    on ``grid`` in turn, ``rounds`` times or until no change improves the mean
    by more than 1e-4 (smaller gains are noise).
    """
    if not tables:
        raise ValueError("search_weights needs at least one validation table")
    names = list(tables[0].scores)

    def mean_ndcg(weights: Mapping[str, float]) -> float:
        return float(np.mean([t.ndcg(weights, k) for t in tables]))

    alone = {n: mean_ndcg({n: 1.0}) for n in names}
    anchor = max(names, key=lambda n: alone[n])
    # Start from the equal blend of the near-best components when it is no worse
    # than the best alone: equal-weight ensembles of strong, different models
    # (EASE, ALS) generalise, and a validation split is too small to see it.
    near = [n for n in names if alone[n] >= near_best * alone[anchor]]
    weights = {n: (1.0 if n == anchor else 0.0) for n in [anchor, *names] if n in names}
    best = alone[anchor]
    equal = {**weights, **dict.fromkeys(near, 1.0)}
    if len(near) > 1 and (score := mean_ndcg(equal)) >= best:
        weights, best = equal, score
    for _ in range(rounds):
        improved = False
        for name in names:
            if name == anchor:
                continue
            for value in grid:
                if value == weights[name]:
                    continue
                trial = {**weights, name: float(value)}
                score = mean_ndcg(trial)
                if score > best + 1e-4:
                    best, weights, improved = score, trial, True
        if not improved:
            break
    return weights
