"""Holdout metrics per model family and the evaluation gate.

A new model becomes ``challenger`` only if it beats the champion, scored on
the *same* holdout, by ``margin`` on the family's metrics:

| family | metrics (all must win) |
|---|---|
| ranker | NDCG@20 |
| recommender | NDCG@10 |
| ctr (pCTR/pCVR) | AUC (higher) and log-loss (lower) |
| tagger | top-3 precision |
| classifier | F1 |
| anomaly | ROC-AUC of held vs active assets |
| condition | Spearman (predicted damage vs degradation strength) |

Metric code comes from scikit-learn (``roc_auc_score``, ``log_loss``,
``f1_score``, ``ndcg_score``) so figures match what users compute themselves.

Example:
    >>> gate = EvaluationGate("ctr", margin=0.01)
    >>> gate.decide({"auc": 0.74, "logloss": 0.40}, {"auc": 0.70, "logloss": 0.42}).passed
    True
    >>> gate.decide({"auc": 0.705, "logloss": 0.40}, {"auc": 0.70, "logloss": 0.42}).passed
    False
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import f1_score, log_loss, ndcg_score, roc_auc_score

from agora.errors import InvalidInput


@dataclass(frozen=True)
class GateMetric:
    """One metric a family is gated on; ``higher_is_better`` fixes the sign."""

    name: str
    higher_is_better: bool = True


FAMILY_METRICS: dict[str, tuple[GateMetric, ...]] = {
    "ranker": (GateMetric("ndcg@20"),),
    "recommender": (GateMetric("ndcg@10"),),
    "ctr": (GateMetric("auc"), GateMetric("logloss", higher_is_better=False)),
    "tagger": (GateMetric("precision@3"),),
    "classifier": (GateMetric("f1"),),
    "anomaly": (GateMetric("auc"),),
    "condition": (GateMetric("spearman"),),
    # Code review: ROC-AUC of the held-out (rule id held out) malicious probability.
    "code_review": (GateMetric("auc"),),
}


@dataclass(frozen=True)
class GateDecision:
    """Outcome of one gate check, with the figures it was based on."""

    passed: bool
    reason: str
    candidate: dict[str, float]
    champion: dict[str, float] | None
    margin: float
    deltas: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "reason": self.reason,
            "candidate": self.candidate,
            "champion": self.champion,
            "margin": self.margin,
            "deltas": self.deltas,
        }


class EvaluationGate:
    """Candidate vs champion on the holdout, by the family's metrics and a margin."""

    def __init__(self, family: str, margin: float = 0.0) -> None:
        if family not in FAMILY_METRICS:
            raise InvalidInput(f"unknown model family {family!r}: {sorted(FAMILY_METRICS)}")
        if margin < 0:
            raise InvalidInput("the gate margin must be >= 0")
        self.family = family
        self.metrics = FAMILY_METRICS[family]
        self.margin = margin

    def decide(
        self, candidate: dict[str, float], champion: dict[str, float] | None
    ) -> GateDecision:
        """Pass when there is no champion, or every gated metric improves by > margin."""
        for metric in self.metrics:
            if metric.name not in candidate:
                raise InvalidInput(f"candidate metrics lack {metric.name!r}")
        if champion is None:
            return GateDecision(True, "no champion yet", candidate, None, self.margin)
        deltas: dict[str, float] = {}
        failed: list[str] = []
        for metric in self.metrics:
            if metric.name not in champion:
                raise InvalidInput(f"champion metrics lack {metric.name!r}")
            delta = candidate[metric.name] - champion[metric.name]
            gain = delta if metric.higher_is_better else -delta
            deltas[metric.name] = delta
            if not gain > self.margin:
                failed.append(
                    f"{metric.name} {candidate[metric.name]:.4f} vs champion "
                    f"{champion[metric.name]:.4f} (needs a gain > {self.margin})"
                )
        if failed:
            return GateDecision(False, "; ".join(failed), candidate, champion, self.margin, deltas)
        wins = ", ".join(f"{k} {v:+.4f}" for k, v in deltas.items())
        return GateDecision(
            True, f"beats champion: {wins}", candidate, champion, self.margin, deltas
        )


def binary_metrics(y_true: ArrayLike, p: ArrayLike) -> dict[str, float]:
    """AUC, log-loss, base rate and mean prediction of a probability model."""
    y = np.asarray(y_true, dtype=np.int64).ravel()
    prob = np.clip(np.asarray(p, dtype=np.float64).ravel(), 1e-7, 1 - 1e-7)
    if y.size == 0 or y.size != prob.size:
        raise InvalidInput("labels and predictions must be non-empty and the same length")
    if np.unique(y).size < 2:
        raise InvalidInput("the holdout needs both positive and negative labels for AUC")
    return {
        "auc": float(roc_auc_score(y, prob)),
        "logloss": float(log_loss(y, prob, labels=[0, 1])),
        "base_rate": float(y.mean()),
        "mean_prediction": float(prob.mean()),
    }


def grouped_ndcg(relevance: ArrayLike, scores: ArrayLike, groups: ArrayLike, k: int) -> float:
    """Mean NDCG@k over groups (queries, sessions) that have at least one relevant row.

    Groups are consecutive runs of equal ids in ``groups``.
    """
    rel = np.asarray(relevance, dtype=np.float64).ravel()
    score = np.asarray(scores, dtype=np.float64).ravel()
    ids = np.asarray(groups).ravel()
    if not rel.size == score.size == ids.size or rel.size == 0:
        raise InvalidInput("relevance, scores and groups must be non-empty and the same length")
    order = np.argsort(ids, kind="stable")
    rel, score, ids = rel[order], score[order], ids[order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], ids.size]
    values = [
        float(ndcg_score(rel[a:b][None, :], score[a:b][None, :], k=k))
        for a, b in zip(starts, ends, strict=True)
        if b - a > 1 and rel[a:b].max() > 0
    ]
    if not values:
        raise InvalidInput("no group with a relevant item and more than one row")
    return float(np.mean(values))


def precision_at_k(
    true_labels: Sequence[set[str]], ranked: Sequence[Sequence[str]], k: int = 3
) -> float:
    """Mean share of the top-k predicted labels that are true (taggers)."""
    if not true_labels or len(true_labels) != len(ranked):
        raise InvalidInput("true labels and rankings must be non-empty and the same length")
    return float(
        np.mean([len(set(r[:k]) & t) / k for t, r in zip(true_labels, ranked, strict=True)])
    )


def classifier_f1(y_true: ArrayLike, y_pred: ArrayLike, average: str = "binary") -> float:
    """F1 of a classifier (``average="macro"`` for multi-class)."""
    return float(f1_score(np.asarray(y_true), np.asarray(y_pred), average=average))
