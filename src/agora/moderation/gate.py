"""The training gate of a text classifier's views: which view holds up on corpora it did not see.

A classifier trained on several corpora together (davidson + TweetEval; SMS
+ e-mail) has several *views* per label: alt-profanity-check alone, the
TF-IDF SVM, the sentence-embedding logistic regression and the stack over
them. A stack can fit its training corpora better and still travel worse
than one of its inputs (issue 20: on toxic forum comments the stacked
offensive model scored ROC-AUC 0.92 where alt-profanity-check alone scored
0.988). So, on the *training* rows only, each view is fitted on one source
corpus and scored on another (every ordered pair of sources that label the
column with both classes); the served view is the best mean held-out figure,
ties going to the simpler view (:func:`agora.moderation.generalisation.choose_view`).
No test split takes part.

Example:
    >>> figures = held_out_figures(inputs, y, groups, fitters, metric="roc_auc")  # doctest: +SKIP
    >>> choose_view(figures, VIEWS)  # doctest: +SKIP
    'profanity'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score

from agora.moderation.stacking import LinearHead, MetaModel, best_threshold, out_of_fold

#: Every view, simplest first (the order ties are broken in).
VIEWS = ("profanity", "tfidf", "embedding", "stacked")
#: A source takes part in the gate only with this many rows and both classes.
MIN_ROWS = 50
MIN_POSITIVES = 5

Fitter = Callable[[Any, np.ndarray], LinearHead]


def score(metric: str, y: np.ndarray, p: np.ndarray, cut: float) -> float:
    """``roc_auc`` or ``f1`` (at ``cut``, the threshold chosen on the training source)."""
    if metric == "roc_auc":
        return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else 0.5
    return float(f1_score(y, p >= cut, zero_division=0))


def gate_sources(y: np.ndarray, groups: np.ndarray) -> list[str]:
    """The sources that can be held out: enough rows and both classes."""
    out = []
    for g in sorted(set(groups.tolist())):
        yg = y[groups == g]
        if len(yg) >= MIN_ROWS and MIN_POSITIVES <= yg.sum() <= len(yg) - MIN_POSITIVES:
            out.append(str(g))
    return out


def held_out_figures(
    inputs: Mapping[str, Any],
    y: np.ndarray,
    groups: np.ndarray,
    fitters: Mapping[str, Fitter],
    *,
    metric: str,
    folds: int = 4,
    seed: int = 0,
) -> dict[str, float]:
    """Mean held-out ``metric`` per view over every ordered pair of sources.

    ``inputs``: per base input, its rows (a feature matrix for a fitted input,
    named in ``fitters``; a 1-D score, e.g. alt-profanity-check's log-odds,
    for an input used as is). The stack is the meta model over every input.
    Each direction's thresholds and stack come from the training source's own
    out-of-fold scores. Empty when fewer than two sources can be held out.
    """
    y = np.asarray(y, dtype=int)
    groups = np.asarray(groups)
    usable = gate_sources(y, groups)
    if len(usable) < 2:
        return {}
    names = list(inputs)
    got: dict[str, list[float]] = {v: [] for v in [*names, "stacked"] if v in VIEWS}
    for a in usable:
        ia = np.flatnonzero(groups == a)
        ya = y[ia]
        # Each input fitted once on source ``a``: its out-of-fold scores on ``a``
        # (for the calibration, the stack and the cuts) and its fitted head.
        z_a: dict[str, np.ndarray] = {}
        heads: dict[str, LinearHead] = {}
        for name in names:
            x = inputs[name]
            if name in fitters:
                z_a[name] = out_of_fold(x[ia], ya, fitters[name], folds, seed)
                heads[name] = fitters[name](x[ia], ya)
            else:
                z_a[name] = np.asarray(x)[ia]
        for b in usable:
            if b == a:
                continue
            ib = np.flatnonzero(groups == b)
            z_b = {
                n: heads[n].decision(inputs[n][ib]) if n in heads else np.asarray(inputs[n])[ib]
                for n in names
            }
            for view in got:
                cols = names if view == "stacked" else [view]
                meta, oof = MetaModel.fit(np.column_stack([z_a[c] for c in cols]), ya, seed)
                p = meta.predict_proba(np.column_stack([z_b[c] for c in cols]))
                got[view].append(score(metric, y[ib], p, best_threshold(ya, oof)))
    return {v: float(np.mean(s)) for v, s in got.items() if s}
