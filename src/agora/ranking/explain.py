"""Why was this ranked here: SHAP contributions of the scoring model (seed 001 section 6).

Exact per-feature TreeSHAP contributions of a tree model's raw output
(log-odds for pCTR), from LightGBM itself (``predict(pred_contrib=True)``,
the path-dependent TreeSHAP of Lundberg et al. 2020 that ``shap.TreeExplainer``
also computes): contributions plus the base value equal the raw score, so an
explanation can always be checked against the model. LightGBM's own routine
replaced ``shap.TreeExplainer``: the same values (``tests/unit/
test_ranking_pipeline.py`` compares them), without shap's ~1.3 s import
(matplotlib, scikit-learn) and explainer build on the first explained feed.

Example:
    >>> import numpy as np
    >>> from agora.ranking.models import CtrModel
    >>> x = np.random.default_rng(0).normal(size=(300, 2)); y = (x[:, 0] > 0).astype(int)
    >>> m = CtrModel(n_estimators=5).fit(x, y, feature_names=["a", "b"])
    >>> e = Explainer(m).explain(x[:1])[0]
    >>> bool(abs(sum(e["contributions"].values()) + e["base_value"] - e["raw"]) < 1e-6)
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agora.ranking.models import CtrModel, LambdaRanker


class Explainer:
    """TreeSHAP over one model version (one batched LightGBM call per explanation)."""

    def __init__(self, model: CtrModel | LambdaRanker) -> None:
        if model.booster is None:
            raise ValueError("the model is not fitted: nothing to explain")
        self.model = model
        self._booster = model.booster

    def contributions(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        """``(rows x features SHAP values, base value)`` of the raw output."""
        data = np.atleast_2d(np.asarray(x, dtype=np.float64))
        # One thread: a handful of rows, and the ranking pool runs requests in parallel.
        out = np.asarray(self._booster.predict(data, pred_contrib=True, num_threads=1))
        # The last column is the expected raw output (the same on every row).
        base = float(out[0, -1]) if len(out) else self._base()
        return out[:, :-1], base

    def _base(self) -> float:
        probe = np.zeros((1, self._booster.num_feature()))
        return float(np.asarray(self._booster.predict(probe, pred_contrib=True))[0, -1])

    def explain(self, x: np.ndarray, *, top: int | None = None) -> list[dict[str, Any]]:
        """One dict per row: model, base value, raw output, contributions by feature."""
        values, base = self.contributions(x)
        raw = self.model.predict_raw(x)
        names = self.model.feature_names
        out = []
        for i in range(len(values)):
            order = np.argsort(-np.abs(values[i]), kind="stable")
            keep = order if top is None else order[:top]
            out.append(
                {
                    "model": str(self.model.ref),
                    "base_value": round(base, 6),
                    "raw": round(float(raw[i]), 6),
                    "contributions": {names[j]: round(float(values[i, j]), 6) for j in keep},
                }
            )
        return out
