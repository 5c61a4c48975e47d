"""The verdict model: LightGBM over the features plus the rule severities.

``fit`` trains the booster and then picks the two thresholds on out-of-fold
probabilities of the *training* data (folds grouped like the caller's split,
so thresholds never see the test split): ``malicious`` at the lowest
probability whose false-positive rate on the benign training samples named by
``cut_on`` (the real code a store receives; default every benign sample)
stays under ``target_fpr``, ``suspicious`` at the one under ``suspicious_fpr``.
GuardDog's ``ok`` snippets are hard negatives written to sit next to each
rule's positives: they teach the model, but a cut set on them would be set
for code no store receives. The
thresholds and the LightGBM parameters are saved with the booster (as text,
no pickle needed), and ``explain`` names the features that pushed a file's
score up (LightGBM's TreeSHAP contributions).

Example:
    >>> model = VerdictModel().fit(x, y, groups)  # doctest: +SKIP
    >>> model.verdicts(model.predict_proba(x[:2]))  # doctest: +SKIP
    ['malicious', 'clean']
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray

from agora.codereview.base import Verdict
from agora.codereview.features import feature_names

NAME = "code-review-verdict"
FORMAT = "agora-code-review-verdict"
FORMAT_VERSION = 1


def _threshold(scores: NDArray[np.float64], fpr: float) -> float:
    """The smallest cut with benign false-positive rate <= ``fpr``."""
    if len(scores) == 0:
        return 0.5
    ordered = np.sort(scores)[::-1]
    allowed = int(np.floor(fpr * len(ordered)))
    # Everything strictly above the (allowed)-th highest benign score is flagged.
    cut = float(ordered[allowed]) if allowed < len(ordered) else 0.0
    return float(np.nextafter(cut, 1.0))


class VerdictModel:
    """LightGBM classifier with clean/suspicious/malicious cuts."""

    def __init__(
        self,
        *,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 5,
        target_fpr: float = 0.01,
        suspicious_fpr: float = 0.03,
        threshold_folds: int = 4,
        seed: int = 7,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.target_fpr = target_fpr
        self.suspicious_fpr = suspicious_fpr
        self.threshold_folds = threshold_folds
        self.seed = seed
        self.features = list(feature_names())
        self.booster_: Any = None
        self.malicious_cut_ = 0.5
        self.suspicious_cut_ = 0.25

    def _params(self) -> dict[str, Any]:
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "feature_fraction": 0.8,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "lambda_l2": 1.0,
            "seed": self.seed,
            "deterministic": True,
            "num_threads": 1,
            "verbosity": -1,
        }

    def _train(self, x: NDArray[np.float64], y: NDArray[np.int_]) -> Any:
        import lightgbm as lgb

        data = lgb.Dataset(x, label=y, feature_name=self.features, free_raw_data=True)
        return lgb.train(self._params(), data, num_boost_round=self.n_estimators)

    def fit(
        self,
        x: NDArray[np.float64],
        y: NDArray[np.int_],
        groups: NDArray[Any] | None = None,
        cut_on: NDArray[np.bool_] | None = None,
    ) -> Self:
        """Train on ``x``/``y``; thresholds from out-of-fold scores grouped by
        ``groups``, on the benign rows where ``cut_on`` is true."""
        from sklearn.model_selection import GroupKFold

        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.int_)
        oof = np.zeros(len(y))
        groups = np.arange(len(y)) if groups is None else np.asarray(groups)
        folds = min(self.threshold_folds, len(set(groups.tolist())))
        if folds >= 2:
            for train, test in GroupKFold(n_splits=folds).split(x, y, groups):
                oof[test] = self._train(x[train], y[train]).predict(x[test])
            chosen = np.ones(len(y), dtype=bool) if cut_on is None else np.asarray(cut_on)
            benign = oof[(y == 0) & chosen]
            self.malicious_cut_ = max(_threshold(benign, self.target_fpr), 0.05)
            self.suspicious_cut_ = min(
                max(_threshold(benign, self.suspicious_fpr), 0.02), self.malicious_cut_
            )
        self.booster_ = self._train(x, y)
        return self

    def predict_proba(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """Malicious probability per row."""
        if self.booster_ is None:
            raise RuntimeError("the verdict model is not fitted")
        out: NDArray[np.float64] = np.asarray(
            self.booster_.predict(np.asarray(x, dtype=np.float64)), dtype=np.float64
        )
        return out

    def verdict(self, probability: float) -> Verdict:
        if probability >= self.malicious_cut_:
            return "malicious"
        if probability >= self.suspicious_cut_:
            return "suspicious"
        return "clean"

    def verdicts(self, probabilities: NDArray[np.float64]) -> list[Verdict]:
        return [self.verdict(float(p)) for p in probabilities]

    def explain(self, row: NDArray[np.float64], top: int = 5) -> list[str]:
        """The features that raised this row's score most (TreeSHAP), strongest first."""
        contrib = self.booster_.predict(np.asarray([row], dtype=np.float64), pred_contrib=True)[0]
        order = np.argsort(contrib[:-1])[::-1]
        return [self.features[i] for i in order[:top] if contrib[i] > 0]

    def save(self, path: Path, metrics: dict[str, float] | None = None) -> Path:
        """Write the model as one JSON file (the booster in LightGBM's text format)."""
        doc = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "features": self.features,
            "malicious_cut": self.malicious_cut_,
            "suspicious_cut": self.suspicious_cut_,
            "params": {
                "n_estimators": self.n_estimators,
                "learning_rate": self.learning_rate,
                "num_leaves": self.num_leaves,
                "min_child_samples": self.min_child_samples,
                "target_fpr": self.target_fpr,
                "suspicious_fpr": self.suspicious_fpr,
                "seed": self.seed,
            },
            "metrics": metrics or {},
            "booster": self.booster_.model_to_string(),
        }
        path.write_text(json.dumps(doc))
        return path

    @classmethod
    def load(cls, path: Path) -> VerdictModel:
        import lightgbm as lgb

        doc = json.loads(Path(path).read_text())
        if doc.get("format") != FORMAT:
            raise ValueError(f"{path} is not a code-review verdict model")
        params = dict(doc["params"])
        model = cls(**params)
        if list(doc["features"]) != model.features:
            raise ValueError(f"{path} was trained on other features; retrain it")
        model.booster_ = lgb.Booster(model_str=doc["booster"])
        model.malicious_cut_ = float(doc["malicious_cut"])
        model.suspicious_cut_ = float(doc["suspicious_cut"])
        return model
