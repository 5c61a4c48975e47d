"""Why was this ranked here: SHAP contributions of the scoring model (seed 001 section 6).

``shap.TreeExplainer`` gives exact per-feature contributions of a tree model's
raw output (log-odds for pCTR): contributions plus the base value equal the
raw score, so an explanation can always be checked against the model.

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
    """TreeExplainer over one model version (built once; shap is imported lazily)."""

    def __init__(self, model: CtrModel | LambdaRanker) -> None:
        import shap  # ~1 s import: only processes that explain pay it

        self.model = model
        self._tree = shap.TreeExplainer(model.booster)

    def contributions(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        """``(rows x features SHAP values, base value)`` of the raw output."""
        values = np.asarray(self._tree.shap_values(np.asarray(x, dtype=np.float64)))
        if values.ndim == 3:  # some shap versions return one matrix per class
            values = values[-1]
        base = np.asarray(self._tree.expected_value, dtype=np.float64).ravel()[-1]
        return values, float(base)

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
