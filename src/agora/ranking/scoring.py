"""Stage 4, scoring: pCTR + pCVR with seed 001's FinalScore, or the LambdaMART ranker.

``FinalScore = w1*pCTR + w2*pCVR + w3*SellerTrust + Boost`` where Boost is the
override multiplier minus one (an admin's 1.5x boost adds 0.5; no boost adds
0). With ``scorer = "lambdamart"`` the ranker's score replaces the pCTR/pCVR
terms (trust and boost still apply). When no model is trained yet, or the
feature store was slow, pCTR and pCVR are the catalog's smoothed popularity
rates: the "generic popularity weights" of the failure table. Those rates know
nothing of the query or the user, so the popularity weights add the recall
stage's relevance (``w_relevance * retrieval``, retrieval in [0, 1], for
candidates from search or the recommenders; the popular fallback's order is
popularity already): without it a popular slime outranked every tank for
"tank" and a popular asset every recommendation. A trained pCTR/pCVR sees the same relevance as its
``retrieval`` feature and learns its weight from the served lists.

Example:
    >>> w = Weights(1.0, 2.0, 0.1)
    >>> float(final_score(np.array([0.1]), np.array([0.02]), np.array([0.5]),
    ...                   np.array([0.0]), w)[0])
    0.19
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agora.ranking.fasttrees import CompiledForest
from agora.ranking.models import CtrModel, LambdaRanker


@dataclass(frozen=True)
class Weights:
    ctr: float
    cvr: float
    trust: float
    relevance: float = 1.0  # the popularity weights' retrieval term (see module doc)


def final_score(
    pctr: np.ndarray, pcvr: np.ndarray, trust: np.ndarray, boost: np.ndarray, w: Weights
) -> np.ndarray:
    """Seed 001: ``w1*pCTR + w2*pCVR + w3*SellerTrust + Boost``."""
    return np.asarray(w.ctr * pctr + w.cvr * pcvr + w.trust * trust + boost)


def _forest(model: CtrModel | LambdaRanker | None) -> CompiledForest | None:
    if model is None or model.booster is None:
        return None
    try:
        return CompiledForest.from_booster(model.booster)
    except ValueError:  # categorical splits: keep LightGBM's own predictor
        return None


class Scorer:
    """The loaded models plus their compiled forests (built once per model version)."""

    def __init__(
        self,
        pctr: CtrModel | None,
        pcvr: CtrModel | None = None,
        ranker: LambdaRanker | None = None,
        *,
        mode: str = "final_score",
        weights: Weights = Weights(1.0, 2.0, 0.1),
    ) -> None:
        if mode not in {"final_score", "lambdamart"}:
            raise ValueError(f"unknown scorer {mode!r}: use final_score or lambdamart")
        self.pctr, self.pcvr, self.ranker = pctr, pcvr, ranker
        self.mode = mode
        self.weights = weights
        self._forests = {id(m): _forest(m) for m in (pctr, pcvr, ranker) if m is not None}
        for forest in self._forests.values():
            if forest is not None:  # JIT-compile now, not inside the first request's deadline
                forest.predict_raw(np.zeros((1, forest.n_features)))

    @property
    def ready(self) -> bool:
        """Whether the configured scorer has its models."""
        if self.mode == "lambdamart":
            return self.ranker is not None
        return self.pctr is not None

    @property
    def models(self) -> dict[str, str]:
        out = {}
        for key, m in (("pctr", self.pctr), ("pcvr", self.pcvr), ("ranker", self.ranker)):
            if m is not None and (key != "ranker" or self.mode == "lambdamart"):
                out[key] = str(m.ref)
        return out

    def raw(self, model: CtrModel | LambdaRanker, x: np.ndarray) -> np.ndarray:
        """Raw margin through the compiled forest (LightGBM when it cannot compile)."""
        forest = self._forests.get(id(model))
        return forest.predict_raw(x) if forest is not None else model.predict_raw(x)

    def score(
        self, x: np.ndarray, trust: np.ndarray, boost: np.ndarray, cvr_prior: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(score, pCTR, pCVR)`` per row."""
        assert self.pctr is not None or self.ranker is not None
        pctr = (
            1.0 / (1.0 + np.exp(-self.raw(self.pctr, x)))
            if self.pctr is not None
            else np.full(len(x), np.nan)
        )
        pcvr = 1.0 / (1.0 + np.exp(-self.raw(self.pcvr, x))) if self.pcvr is not None else cvr_prior
        if self.mode == "lambdamart" and self.ranker is not None:
            rank = self.raw(self.ranker, x)
            return rank + self.weights.trust * trust + boost, pctr, pcvr
        return final_score(pctr, pcvr, trust, boost, self.weights), pctr, pcvr


def popularity_score(
    ctr_prior: np.ndarray,
    cvr_prior: np.ndarray,
    trust: np.ndarray,
    boost: np.ndarray,
    w: Weights,
    relevance: np.ndarray | None = None,
) -> np.ndarray:
    """FinalScore with the catalog's smoothed popularity rates as pCTR and pCVR, plus
    ``w.relevance * relevance`` (the recall stage's relevance in [0, 1], when given)."""
    score = final_score(ctr_prior, cvr_prior, trust, boost, w)
    return score if relevance is None else score + w.relevance * relevance


def weigh_by_relevance(
    score: np.ndarray,
    boost: np.ndarray,
    relevance: np.ndarray,
    power: float,
    *,
    unbounded: bool = False,
) -> np.ndarray:
    """Ranked search: the model part of ``score`` (everything but the operator's
    boost) times ``relevance ** power``, relevance being the search score relative
    to the best hit in [0, 1]. A CTR model trained on clicks learns popularity as
    much as relevance; the product keeps a popular asset that barely matches the
    query below the assets that do. A LambdaMART margin is ``unbounded``: it is
    mapped through the logistic first so the product keeps its order.

    >>> weigh_by_relevance(np.array([0.30, 0.10]), np.zeros(2), np.array([0.3, 1.0]), 1.0)
    array([0.09, 0.1 ])
    """
    if power <= 0:
        return score
    model_part = score - boost
    if unbounded:
        model_part = 1.0 / (1.0 + np.exp(-model_part))
    return np.asarray(model_part * np.clip(relevance, 0.0, 1.0) ** power + boost)
