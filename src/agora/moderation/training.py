"""Train the text classifiers and save them through the model store.

``train_text_models`` fits the toxicity (offensive, hate) and spam
classifiers on the training split of the shared corpora plus the labelled
examples moderators produced (``moderation_examples``, only from sellers who
allow model training), evaluates each on the held-out split, saves them to
the model store with params, metrics and the data snapshot, and points the
``champion`` alias at the new versions.

Example:
    >>> refs = train_text_models(platform.models, Path("../shared/data"))  # doctest: +SKIP
    >>> refs["moderation-spam"].version  # doctest: +SKIP
    '1'
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from agora.domain import ModelRef
from agora.mlops.base import ModelStore
from agora.moderation.datasets import Corpus, load_davidson, load_sms_spam
from agora.moderation.text_models import SpamClassifier, TextClassifier, ToxicityClassifier

log = logging.getLogger("agora.moderation")
CHAMPION = "champion"
MODEL_NAMES = (ToxicityClassifier.name, SpamClassifier.name)


@dataclass(frozen=True)
class Example:
    """A labelled text from a moderator decision; labels it does not set are unknown."""

    text: str
    labels: dict[str, int]


def evaluate(clf: TextClassifier, corpus: Corpus) -> dict[str, float]:
    """Precision, recall, F1 (at the model's thresholds) and ROC-AUC per label."""
    probs = clf.predict_proba(corpus.texts)
    out: dict[str, float] = {}
    for j, label in enumerate(clf.label_names):
        y, p = corpus.labels[:, j], probs[label]
        hit = p >= clf.thresholds_[label]
        out[f"{label}.precision"] = float(precision_score(y, hit, zero_division=0))
        out[f"{label}.recall"] = float(recall_score(y, hit, zero_division=0))
        out[f"{label}.f1"] = float(f1_score(y, hit, zero_division=0))
        out[f"{label}.roc_auc"] = float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else 0.5
    return out


def feature_list(clf: TextClassifier) -> list[str]:
    """The inputs a text classifier was built on (recorded with each version)."""
    return ["tfidf-word-1-2", "tfidf-char_wb-2-5"] + (["links"] if clf.use_links else [])


def with_examples(corpus: Corpus, examples: Sequence[Example]) -> Corpus:
    """Append examples that label every column of this corpus."""
    rows = [e for e in examples if all(lb in e.labels for lb in corpus.label_names)]
    if not rows:
        return corpus
    extra = np.array([[int(e.labels[lb]) for lb in corpus.label_names] for e in rows])
    return Corpus(
        corpus.name,
        corpus.texts + [e.text for e in rows],
        np.vstack([corpus.labels, extra]),
        corpus.label_names,
        None,
    )


def fit_and_save(
    store: ModelStore,
    clf: TextClassifier,
    corpus: Corpus,
    examples: Sequence[Example] = (),
    *,
    snapshot: str,
) -> tuple[ModelRef, dict[str, float]]:
    """Fit on the corpus's train split (+ examples), score on its test split, save."""
    train, test = corpus.split()
    train = with_examples(train, examples)
    clf.fit(train.texts, train.labels)
    metrics = evaluate(clf, test)
    ref = store.save(
        clf.name,
        clf,
        params={"C": clf.C, "calibration_folds": clf.calibration_folds, "n_train": len(train)},
        metrics=metrics | {f"threshold.{k}": v for k, v in clf.thresholds_.items()},
        data_snapshot=f"{snapshot}; +{len(train) - len(corpus.split()[0])} moderator examples",
        features=feature_list(clf),
    )
    store.set_alias(clf.name, CHAMPION, ref.version)
    log.info("trained %s: %s", ref, {k: round(v, 3) for k, v in metrics.items()})
    return ref, metrics


def train_text_models(
    store: ModelStore,
    data_dir: Path,
    *,
    examples: Sequence[Example] = (),
    sample: int | None = None,
    progress: Callable[[str], Any] | None = None,
) -> dict[str, tuple[ModelRef, dict[str, float]]]:
    """Train, evaluate, save and promote both classifiers; ``sample`` caps each corpus."""
    corpora: list[tuple[TextClassifier, Corpus]] = [
        (ToxicityClassifier(), load_davidson(data_dir)),
        (SpamClassifier(), load_sms_spam(data_dir)),
    ]
    out = {}
    for clf, corpus in corpora:
        if progress:
            progress(f"training {clf.name} on {corpus.name}")
        data = corpus.sample(sample) if sample else corpus
        snapshot = f"{corpus.name}:{len(data)} rows (seeded 80/20 split)"
        out[clf.name] = fit_and_save(store, clf, data, examples, snapshot=snapshot)
    return out
