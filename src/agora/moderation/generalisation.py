"""Leave-one-corpus-out (LOCO): how well a text classifier holds up on a source it never saw.

A classifier chosen and evaluated on one corpus's own splits (the in-source
figure) says little about text from elsewhere. For each task this protocol
has two corpora labelled for the same binary question:

* ``offensive``: davidson (classes hate or offensive) and TweetEval offensive (OLID);
* ``hate``: davidson (class hate) and TweetEval hate (HatEval);
* ``spam``: SMS spam collection and SpamAssassin e-mail.

A model is fitted on one corpus's training split and scored, once, on the
other corpus's test split (a *direction*, ``train->test``); the LOCO figure
is the mean of the two directions. The in-source figure (fitted and scored on
the same corpus's splits) is reported beside it. Everything a model chooses
(stack weights, calibration, thresholds) comes from its training rows; which
view is served is chosen by :func:`choose_view` on held-out *training* rows.

Example:
    >>> sources = task_sources(Path("../shared/data"), "spam")  # doctest: +SKIP
    >>> report = run_protocol(sources, fit_views)  # doctest: +SKIP
    >>> report["loco_f1"]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from agora.errors import InvalidInput
from agora.moderation.datasets import (
    Corpus,
    load_davidson,
    load_email_spam,
    load_sms_spam,
    load_tweeteval,
)

TASKS = ("offensive", "hate", "spam")


@dataclass(frozen=True)
class Source:
    """One corpus's training and test rows for a binary task (one label column)."""

    name: str
    train: Corpus
    test: Corpus


def load_corpora(data_dir: Path, task: str) -> list[Corpus]:
    """The two corpora of ``task``, each with the one label column named ``task``."""
    if task == "offensive":
        return [load_davidson(data_dir).only("offensive"), load_tweeteval(data_dir, "offensive")]
    if task == "hate":
        return [load_davidson(data_dir).only("hate"), load_tweeteval(data_dir, "hate")]
    if task == "spam":
        return [load_sms_spam(data_dir), load_email_spam(data_dir)]
    raise InvalidInput(f"unknown task {task!r}; expected one of {TASKS}")


def task_sources(
    data_dir: Path,
    task: str,
    *,
    train_rows: int | None = None,
    test_rows: int | None = None,
    seed: int = 0,
) -> list[Source]:
    """Each corpus of ``task`` split into training and test rows.

    ``train_rows`` / ``test_rows`` draw stratified samples of at most that
    many rows (seeded; ``None``: all), for runs on small machines.
    """
    out = []
    for corpus in load_corpora(data_dir, task):
        train, test = corpus.split()
        if train_rows is not None:
            train = train.sample(train_rows, seed)
        if test_rows is not None:
            test = test.sample(test_rows, seed)
        out.append(Source(corpus.name, train, test))
    return out


Predict = Callable[[Sequence[str]], dict[str, np.ndarray]]


@dataclass(frozen=True)
class FittedViews:
    """A model fitted on one training split: a probability per view and each view's cut.

    A *view* is one way of scoring (one base model, or the stack over them);
    ``thresholds`` are the decision cuts the deployed model would use.
    """

    predict: Predict
    thresholds: dict[str, float]


Fit = Callable[[Corpus], FittedViews]


def figures(y: np.ndarray, p: np.ndarray, cut: float) -> dict[str, float]:
    """ROC-AUC, and precision, recall and F1 at ``cut`` (the deployed threshold)."""
    y = np.asarray(y, dtype=int).ravel()
    hit = np.asarray(p) >= cut
    return {
        "roc_auc": float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else 0.5,
        "f1": float(f1_score(y, hit, zero_division=0)),
        "precision": float(precision_score(y, hit, zero_division=0)),
        "recall": float(recall_score(y, hit, zero_division=0)),
        "rows": float(len(y)),
    }


def direction(train: str, test: str) -> str:
    """The name of a protocol direction (``davidson->tweeteval-hate``)."""
    return f"{train}->{test}"


def choose_view(held_out: Mapping[str, float], simplest_first: Sequence[str]) -> str:
    """The view to serve: the best figure on held-out corpora, ties to the simpler.

    A stack is served only where it is at least as good as every single input
    on corpora it was not fitted on; otherwise the gate falls back to the
    best single input. ``simplest_first`` orders the views (inputs before the stack).
    """
    ranked = [v for v in simplest_first if v in held_out]
    if not ranked:
        raise InvalidInput("no view has a held-out figure")
    best = max(held_out[v] for v in ranked)
    return next(v for v in ranked if held_out[v] >= best - 1e-12)


def run_protocol(sources: Sequence[Source], fit: Fit, *, metric: str) -> dict[str, object]:
    """In-source and leave-one-corpus-out figures of every view, and the served view.

    Each source's model is fitted once on its training split. The view is
    chosen (:func:`choose_view`, by mean LOCO ``metric``) on the other
    corpora's *training* rows; the test splits are scored once and never
    take part in a choice. Returns, per view, ``in_source`` and ``loco`` figures
    (each direction and their means), the chosen view and its headline
    figures ``loco_roc_auc``, ``loco_f1``, ``in_source_roc_auc``, ``in_source_f1``.
    """
    if len(sources) < 2:
        raise InvalidInput("leave-one-corpus-out needs at least two corpora")
    fitted = {s.name: fit(s.train) for s in sources}
    views = list(next(iter(fitted.values())).thresholds)
    in_source: dict[str, dict[str, dict[str, float]]] = {v: {} for v in views}
    loco: dict[str, dict[str, dict[str, float]]] = {v: {} for v in views}
    selection: dict[str, list[float]] = {v: [] for v in views}
    for a in sources:
        model = fitted[a.name]
        for b in sources:
            test = model.predict(b.test.texts)
            for v in views:
                got = figures(b.test.labels[:, 0], test[v], model.thresholds[v])
                if a is b:
                    in_source[v][a.name] = got
                else:
                    loco[v][direction(a.name, b.name)] = got
            if a is not b:
                held = model.predict(b.train.texts)
                for v in views:
                    got = figures(b.train.labels[:, 0], held[v], model.thresholds[v])
                    selection[v].append(got[metric])
    per_view: dict[str, dict[str, object]] = {}
    for v in views:
        per_view[v] = {
            "in_source": in_source[v],
            "loco": loco[v],
            "in_source_roc_auc": _mean(in_source[v], "roc_auc"),
            "in_source_f1": _mean(in_source[v], "f1"),
            "loco_roc_auc": _mean(loco[v], "roc_auc"),
            "loco_f1": _mean(loco[v], "f1"),
            "selection_loco_" + metric: float(np.mean(selection[v])),
        }
    chosen = choose_view({v: float(np.mean(selection[v])) for v in views}, views)
    head = per_view[chosen]
    return {
        "served_view": chosen,
        "selection_metric": f"mean LOCO {metric} on the other corpora's training rows",
        **{k: head[k] for k in ("loco_roc_auc", "loco_f1", "in_source_roc_auc", "in_source_f1")},
        "loco": head["loco"],
        "in_source": head["in_source"],
        "views": per_view,
    }


def _mean(rows: Mapping[str, Mapping[str, float]], key: str) -> float:
    return float(np.mean([r[key] for r in rows.values()])) if rows else float("nan")
