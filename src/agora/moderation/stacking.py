"""Out-of-fold stacking of a text classifier's views: TF-IDF and sentence embeddings.

Per label, a linear SVM on TF-IDF and a logistic regression on the sentence
embedding each give a decision score. Their out-of-fold scores over the whole
training set (K folds: every row scored by models that did not see it) train
a meta logistic regression, which both weighs the two views and calibrates
(Platt scaling on cross-validated scores). The TF-IDF view alone gets its own
one-feature meta model, so it is a calibrated classifier by itself. Decision
thresholds are chosen on the meta models' own out-of-fold probabilities,
never on rows they were fitted on. The served base models are refitted on
all rows.

Example:
    >>> z = out_of_fold(x, y, LinearHead.fit_svm, folds=4)  # doctest: +SKIP
    >>> meta, oof = MetaModel.fit(z[:, None], y)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

_EPS = 1e-6


def logit(p: np.ndarray) -> np.ndarray:
    """log-odds of probabilities, clipped away from 0 and 1."""
    q = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.asarray(np.log(q / (1 - q)))


def best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The probability cut that maximises F1 (0.5 when there are no positives)."""
    y = np.asarray(y)
    if y.sum() == 0:
        return 0.5
    grid = np.linspace(0.05, 0.95, 91)
    # F1 at every cut in one pass (91 sklearn f1_score calls took ~0.6 s per label).
    pred = np.asarray(p)[None, :] >= grid[:, None]
    pos = y.astype(bool)[None, :]
    tp = (pred & pos).sum(axis=1)
    f1 = 2 * tp / (pred.sum(axis=1) + pos.sum())  # 2TP / (predicted + actual positives)
    return float(grid[int(np.argmax(f1))])


@dataclass(frozen=True)
class LinearHead:
    """A fitted linear model's weights: scores sparse or dense rows without scikit-learn."""

    coef: np.ndarray
    intercept: float

    @classmethod
    def fit_svm(cls, x: Any, y: np.ndarray, C: float = 0.5, seed: int = 0) -> LinearHead:  # noqa: N803
        """Linear SVM (balanced class weights: hate is 6 % of davidson)."""
        svm = LinearSVC(C=C, class_weight="balanced", random_state=seed).fit(x, y)
        return cls(np.asarray(svm.coef_[0], dtype=np.float64), float(svm.intercept_[0]))

    @classmethod
    def fit_logistic(cls, x: Any, y: np.ndarray, C: float = 2.0, seed: int = 0) -> LinearHead:  # noqa: N803
        """Logistic regression (balanced; the meta model re-calibrates)."""
        lr = LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=seed)
        lr.fit(x, y)
        return cls(np.asarray(lr.coef_[0], dtype=np.float64), float(lr.intercept_[0]))

    def decision(self, x: Any) -> np.ndarray:
        """Signed score per row of a sparse or dense matrix."""
        return np.asarray(x @ self.coef, dtype=np.float64).ravel() + self.intercept


def out_of_fold(
    x: Any,
    y: np.ndarray,
    fit: Callable[[Any, np.ndarray], LinearHead],
    folds: int = 4,
    seed: int = 0,
    *,
    on_fold: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Each row's decision score from a model fitted on the other folds.

    ``on_fold(done, total)`` is called after each fold (progress of long fits).
    """
    y = np.asarray(y, dtype=int)
    out = np.zeros(len(y))
    k = int(min(folds, y.sum(), len(y) - y.sum()))
    if k < 2:  # too few positives to hold any out: in-sample scores
        return fit(x, y).decision(x)
    split = StratifiedKFold(k, shuffle=True, random_state=seed).split(out, y)
    for done, (train, test) in enumerate(split, start=1):
        out[test] = fit(x[train], y[train]).decision(x[test])
        if on_fold is not None:
            on_fold(done, k)
    return out


@dataclass(frozen=True)
class MetaModel:
    """Logistic regression over the base models' scores: the stacked probability."""

    coef: np.ndarray
    intercept: float

    @classmethod
    def fit(cls, z: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[MetaModel, np.ndarray]:
        """The meta model on all rows and out-of-fold probabilities for thresholds."""
        y = np.asarray(y, dtype=int)
        oof = np.full(len(y), float(y.mean()) if len(y) else 0.5)
        folds = int(min(5, y.sum(), len(y) - y.sum()))
        if folds >= 2:
            split = StratifiedKFold(folds, shuffle=True, random_state=seed)
            for train, test in split.split(z, y):
                oof[test] = cls._fit(z[train], y[train]).predict_proba(z[test])
        if 0 < y.sum() < len(y):
            return cls._fit(z, y), oof
        # One class only: nothing to learn; the training prior for every row.
        prior = float(y.mean()) if len(y) else 0.5
        return cls(np.zeros(z.shape[1]), float(logit(np.array([prior]))[0])), oof

    @classmethod
    def _fit(cls, z: np.ndarray, y: np.ndarray) -> MetaModel:
        lr = LogisticRegression(C=1.0, max_iter=1000).fit(z, y)
        return cls(np.asarray(lr.coef_[0], dtype=np.float64), float(lr.intercept_[0]))

    def predict_proba(self, z: np.ndarray) -> np.ndarray:
        """P(positive) per row of base-model scores (one column per view)."""
        return np.asarray(expit(np.asarray(z, dtype=np.float64) @ self.coef + self.intercept))
