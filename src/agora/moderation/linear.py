"""Fast scoring of a fitted ``CalibratedClassifierCV`` over linear models.

scikit-learn's ``predict_proba`` on a 5-fold calibrated linear SVM costs about
7 ms per single text, almost all of it per-call overhead of the ensemble. A
request scores one text, so the fitted ensemble is flattened here into one
weight matrix (one row per fold), intercepts and the folds' Platt parameters;
a probability is then one sparse mat-vec and a mean of sigmoids, and is equal
to scikit-learn's (checked in the tests).

Example:
    >>> fast = LinearCalibrated.from_sklearn(calibrated)  # doctest: +SKIP
    >>> fast.predict_proba(x)  # same as calibrated.predict_proba(x)[:, 1]  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit

from agora.errors import InvalidInput


class LinearCalibrated:
    """Mean over folds of ``sigmoid(-(a * (x.w + b0) + b))`` (Platt scaling)."""

    def __init__(self, weights: np.ndarray, intercepts: np.ndarray, a: np.ndarray, b: np.ndarray):
        self.weights = np.ascontiguousarray(weights.T)  # (n_features, n_folds)
        self.intercepts = intercepts
        self.a = a
        self.b = b

    @classmethod
    def from_sklearn(cls, calibrated: Any) -> LinearCalibrated:
        """Flatten a fitted sigmoid-calibrated ensemble of binary linear models."""
        if getattr(calibrated, "method", None) != "sigmoid":
            raise InvalidInput("only sigmoid (Platt) calibration can be flattened")
        w, b0, a, b = [], [], [], []
        for fold in calibrated.calibrated_classifiers_:
            est = fold.estimator
            w.append(np.asarray(est.coef_, dtype=np.float64).ravel())
            b0.append(float(np.ravel(est.intercept_)[0]))
            a.append(float(fold.calibrators[0].a_))
            b.append(float(fold.calibrators[0].b_))
        return cls(np.stack(w), np.array(b0), np.array(a), np.array(b))

    def predict_proba(self, x: Any) -> np.ndarray:
        """P(positive) per row of a (sparse) feature matrix."""
        decision = np.asarray(x @ self.weights) + self.intercepts  # (n, folds)
        return np.asarray(expit(-(self.a * decision + self.b)).mean(axis=1))
