"""What training the text classifiers needs: labelled examples, evaluation, features.

Training itself is the MLOps ``train.classifier`` pipeline
(``agora.mlops.training.classifier``, run by ``agora moderation train`` and
``agora train classifier``): fit on the corpora's training splits plus the
labelled examples moderators produced (``moderation_examples``, only from
sellers who allow model training), evaluate on the held-out split, register,
and let the evaluation gate decide. A version becomes champion directly only
when there is none; otherwise it must beat the champion's F1 by the margin
(challenger), or it is recorded as rejected.

Example:
    >>> evaluate(clf, test)["spam.f1"]  # doctest: +SKIP
    0.96
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from agora.moderation.datasets import Corpus
from agora.moderation.text_models import SpamClassifier, ToxicityClassifier

if TYPE_CHECKING:
    from agora.moderation.text_models import TextClassifier

CHAMPION = "champion"
MODERATOR_SOURCE = "moderator-examples"
MODEL_NAMES = (ToxicityClassifier.name, SpamClassifier.name)


@dataclass(frozen=True)
class Example:
    """A labelled text from a moderator decision; labels it does not set are unknown."""

    text: str
    labels: dict[str, int]


def evaluate(
    clf: TextClassifier,
    corpus: Corpus,
    *,
    view: str = "served",
    embedding_cache: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, float]:
    """Precision, recall, F1 (at the model's thresholds) and ROC-AUC per label.

    ``view``: the served (gated) view by default; ``progress(done, total)``
    follows the encoding of the texts (views that use the encoder).
    """
    probs = clf.predict_proba(
        corpus.texts, view=view, embedding_cache=embedding_cache, progress=progress
    )
    cuts = clf.cuts(view)
    out: dict[str, float] = {}
    for j, label in enumerate(clf.label_names):
        known = corpus.labels[:, j] >= 0  # -1: this row's corpus does not label it
        y, p = corpus.labels[known, j], probs[label][known]
        hit = p >= cuts[label]
        out[f"{label}.precision"] = float(precision_score(y, hit, zero_division=0))
        out[f"{label}.recall"] = float(recall_score(y, hit, zero_division=0))
        out[f"{label}.f1"] = float(f1_score(y, hit, zero_division=0))
        out[f"{label}.roc_auc"] = float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else 0.5
    return out


def embedding_cache_dir(data_dir: Path) -> Path:
    """Where training keeps corpus embeddings between runs (under the data folder)."""
    return Path(data_dir) / "moderation" / "embeddings"


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
        corpus.sha256,
        None,
        # Moderator examples are their own source: the gate holds out corpora only.
        np.concatenate([corpus.row_sources(), np.full(len(rows), MODERATOR_SOURCE, dtype=object)]),
    )
