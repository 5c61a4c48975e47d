"""Held-out evaluation of the verdict model, the rules alone and Semgrep alone.

``cross_validate`` trains one model per fold of ``split_by_rule`` (whole rule
ids and packages held out) and scores the held-out fold once, so every sample
is predicted by a model that never saw its rule. The figures:

- ``recall``: share of malicious snippets answered ``malicious``;
- ``fpr``: share of benign real code answered ``malicious`` (the goal's
  denominator); ``fpr_ok``: the same on GuardDog's ``ok`` snippets and benign
  regression files; ``review_rate``: benign real code sent to a person
  (``suspicious`` or ``malicious``);
- each for ``verdict`` (the model), ``rules_only`` (any high/critical finding)
  and ``semgrep_only`` (the same over Semgrep's findings), overall and per
  language; ``verdict.auc`` over all held-out samples.

Example:
    >>> figures = cross_validate(samples, folds, findings)  # doctest: +SKIP
    >>> figures["verdict.recall"], figures["rules_only.recall"]  # doctest: +SKIP
    (0.93, 0.71)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agora.codereview.base import Finding
from agora.codereview.datasets import Sample
from agora.codereview.features import extract
from agora.codereview.model import VerdictModel
from agora.codereview.review import rules_verdict


def feature_matrix(
    samples: Sequence[Sample], findings: Sequence[Sequence[Finding]]
) -> NDArray[np.float64]:
    return np.asarray(
        [extract(s.script, f) for s, f in zip(samples, findings, strict=True)], dtype=np.float64
    )


def _rates(
    verdicts: Sequence[str], samples: Sequence[Sample], mask: NDArray[np.bool_], prefix: str
) -> dict[str, float]:
    labels = np.asarray([s.label for s in samples])
    real = np.asarray([s.source.startswith("real") for s in samples])
    malicious = np.asarray([v == "malicious" for v in verdicts])
    flagged = np.asarray([v != "clean" for v in verdicts])
    out: dict[str, float] = {}
    pos = mask & (labels == 1)
    neg_real = mask & real
    neg_ok = mask & (labels == 0) & ~real
    if pos.any():
        out[f"{prefix}.recall"] = float(malicious[pos].mean())
        out[f"{prefix}.recall_flagged"] = float(flagged[pos].mean())
    if neg_real.any():
        out[f"{prefix}.fpr"] = float(malicious[neg_real].mean())
        out[f"{prefix}.review_rate"] = float(flagged[neg_real].mean())
    if neg_ok.any():
        out[f"{prefix}.fpr_ok"] = float(malicious[neg_ok].mean())
    return out


def figures_for(name: str, verdicts: Sequence[str], samples: Sequence[Sample]) -> dict[str, float]:
    """Overall and per-language rates of one set of verdicts."""
    everything = np.ones(len(samples), dtype=bool)
    out = _rates(verdicts, samples, everything, name)
    for language in sorted({s.script.language for s in samples}):
        mask = np.asarray([s.script.language == language for s in samples])
        out |= _rates(verdicts, samples, mask, f"{name}.{language}")
    return out


def cross_validate(
    samples: Sequence[Sample],
    folds: Sequence[int],
    findings: Sequence[Sequence[Finding]],
    *,
    make_model: Callable[[], VerdictModel] = VerdictModel,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, float], NDArray[np.float64]]:
    """Held-out figures of the model, the rules and Semgrep, and the held-out probabilities."""
    from sklearn.metrics import roc_auc_score

    x = feature_matrix(samples, findings)
    y = np.asarray([s.label for s in samples])
    groups = np.asarray([s.group for s in samples])
    real = np.asarray([s.source.startswith("real") for s in samples])
    fold_ids = np.asarray(folds)
    probability = np.zeros(len(samples))
    verdicts: list[str] = [""] * len(samples)
    n_folds = int(fold_ids.max()) + 1
    for k in range(n_folds):
        train, test = np.where(fold_ids != k)[0], np.where(fold_ids == k)[0]
        model = make_model().fit(x[train], y[train], groups[train], cut_on=real[train])
        probability[test] = model.predict_proba(x[test])
        for i, v in zip(test, model.verdicts(probability[test]), strict=True):
            verdicts[i] = v
        if progress is not None:
            progress(k + 1, n_folds)
    rules = [rules_verdict(f) for f in findings]
    semgrep = [rules_verdict([x for x in f if x.analyser == "semgrep"]) for f in findings]
    figures: dict[str, float] = {}
    figures |= figures_for("verdict", verdicts, samples)
    figures |= figures_for("rules_only", rules, samples)
    figures |= figures_for("semgrep_only", semgrep, samples)
    figures["verdict.auc"] = float(roc_auc_score(y, probability))
    figures["samples.malicious"] = float(y.sum())
    figures["samples.benign_ok"] = float(
        sum(s.label == 0 and not s.source.startswith("real") for s in samples)
    )
    figures["samples.benign_real"] = float(sum(s.source.startswith("real") for s in samples))
    real_per_fold = [
        sum(
            1 for s, f in zip(samples, folds, strict=True) if f == k and s.source.startswith("real")
        )
        for k in range(n_folds)
    ]
    figures["folds.min_benign_real"] = float(min(real_per_fold))
    figures["folds"] = float(n_folds)
    return figures, probability


def summary(figures: dict[str, Any]) -> str:
    """A short table of the headline figures."""
    rows = []
    for name in ("verdict", "rules_only", "semgrep_only"):
        cells = [
            f"{figures.get(f'{name}{lang}.{m}', float('nan')):.3f}"
            for lang in ("", ".python", ".javascript")
            for m in ("recall", "fpr")
        ]
        rows.append(f"{name:<13} " + " ".join(f"{c:>7}" for c in cells))
    head = f"{'':<13} " + " ".join(
        f"{h:>7}" for h in ("rec", "fpr", "py.rec", "py.fpr", "js.rec", "js.fpr")
    )
    return "\n".join([head, *rows])
