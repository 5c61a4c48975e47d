"""Moderation classifier training pipeline (``train.classifier``, ``agora train classifier``).

The moderation package's classifiers (toxicity: offensive + hate; spam) and
corpora (``agora.moderation``), wrapped in the MLOps workflow: fit on the
corpus's seeded training split plus the moderators' labelled examples (from
sellers who allow model training), F1 on the held-out split (the mean of the
classifier's per-label F1 at its own thresholds), the champion scored on the
same split, then registration (``moderation-toxicity``, ``moderation-spam``)
and the gate. The moderation service loads the ``champion`` alias, so a gated
version serves only once promoted.

Example:
    $ agora train classifier
    >>> train_classifier(platform, data_dir="../shared/data")["models"]  # doctest: +SKIP
    {'moderation-toxicity': {'decision': 'champion', ...}, 'moderation-spam': {...}}
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from agora.errors import InvalidInput
from agora.mlops.tasks import TaskContext
from agora.mlops.training.pipeline import (
    TrainingOutcome,
    TrainingRun,
    champion_metrics,
    guarded,
    register_and_gate,
)

if TYPE_CHECKING:
    from agora.moderation.datasets import Corpus
    from agora.moderation.text_models import TextClassifier
    from agora.runtime import Platform


def classifier_metrics(
    clf: TextClassifier, test: Corpus, embedding_cache: Path | None = None
) -> dict[str, float]:
    """Per-label precision/recall/F1/ROC-AUC plus ``f1`` (their mean F1, the gated figure)."""
    from agora.moderation.training import evaluate

    metrics = evaluate(clf, test, embedding_cache=embedding_cache)
    metrics["f1"] = float(np.mean([metrics[f"{label}.f1"] for label in clf.label_names]))
    return metrics


def _train_one(
    platform: Platform,
    ctx: TaskContext,
    clf: TextClassifier,
    corpus: Corpus,
    examples: list[Any],
    *,
    reason: str,
    actor: str,
) -> dict[str, Any]:
    from agora.moderation.training import embedding_cache_dir, with_examples

    job = getattr(ctx, "job_id", None)
    run_id = f"{job}-{clf.name}" if job else None
    run = TrainingRun.start(platform, clf.name, "classifier", reason=reason, run_id=run_id)

    def body() -> TrainingOutcome:
        train, test = corpus.split()
        train = with_examples(train, examples)
        snapshot = (
            f"{corpus.name}:{len(corpus)} rows (seeded 80/20 split); "
            f"+{len(train) - len(corpus.split()[0])} moderator examples"
        )
        run.update(data_snapshot=snapshot)
        cache = embedding_cache_dir(platform.settings.data_dir)
        clf.fit(train.texts, train.labels, embedding_cache=cache)
        metrics = classifier_metrics(clf, test, cache) | {"train_rows": float(len(train))}
        champion = champion_metrics(
            platform, clf.name, lambda champ: classifier_metrics(champ, test, cache)
        )

        def save(m: dict[str, float], snap: str) -> Any:
            return platform.models.save(
                clf.name,
                clf,
                params={
                    "C": clf.C,
                    "calibration_folds": clf.calibration_folds,
                    "embeddings": clf.embeddings,
                },
                metrics=m | {f"threshold.{k}": v for k, v in clf.thresholds_.items()},
                data_snapshot=snap,
                features=clf.feature_names,
            )

        return register_and_gate(
            platform,
            run,
            save=save,
            metrics=metrics,
            champion=champion,
            reference=None,
            feature_names=clf.feature_names,
            snapshot=snapshot,
            actor=actor,
        )

    return guarded(run, body)


def train_classifier(
    platform: Platform,
    ctx: TaskContext | None = None,
    *,
    data_dir: str | None = None,
    sample: int | None = None,
    reason: str = "manual",
    actor: str = "pipeline:train.classifier",
    end: str | None = None,
    days: float | None = None,
    embeddings: bool = True,
) -> dict[str, Any]:
    """Train, evaluate, register and gate the moderation text classifiers.

    ``data_dir``: the folder with ``hate-offensive-davidson/`` and
    ``sms-spam-collection/`` (default ``moderation.train_data_dir``); ``sample``
    caps each corpus (quick runs); ``embeddings=False`` trains the TF-IDF
    view alone (no sentence encoder). ``end``/``days`` are accepted for a uniform
    ``agora train`` interface; the corpora are not time windows.
    """
    from agora.moderation.datasets import load_davidson, load_sms_spam
    from agora.moderation.queue import ModerationQueue
    from agora.moderation.text_models import SpamClassifier, ToxicityClassifier
    from agora.moderation.training import Example

    del end, days
    ctx = ctx or TaskContext()
    folder = data_dir or platform.settings.moderation.train_data_dir
    if not folder:
        raise InvalidInput("give data_dir or set AGORA_MODERATION__TRAIN_DATA_DIR")
    examples = [
        Example(row.text, {k: int(v) for k, v in row.labels.items()})
        for row in ModerationQueue(platform).examples()
    ]
    pairs: list[tuple[TextClassifier, Corpus]] = [
        (ToxicityClassifier(embeddings=embeddings), load_davidson(Path(folder))),
        (SpamClassifier(embeddings=embeddings), load_sms_spam(Path(folder))),
    ]
    out: dict[str, Any] = {}
    for i, (clf, corpus) in enumerate(pairs):
        data = corpus.sample(sample) if sample else corpus
        ctx.progress(5 + 90 * i / len(pairs), f"training {clf.name} on {len(data)} rows")
        out[clf.name] = _train_one(platform, ctx, clf, data, examples, reason=reason, actor=actor)
    ctx.progress(100, ", ".join(f"{k}: {v['decision']}" for k, v in out.items()))
    return {"models": out, "moderator_examples": len(examples)}
