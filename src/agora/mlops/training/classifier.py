"""Moderation classifier training pipeline (``train.classifier``, ``agora train classifier``).

The moderation package's classifiers (toxicity: offensive + hate; spam) and
corpora (``agora.moderation``), wrapped in the MLOps workflow: fit on the
corpus's seeded training split plus the moderators' labelled examples (from
sellers who allow model training), F1 on the held-out split (the mean of the
classifier's per-label F1 at its own thresholds), the champion scored on the
same split, then registration (``moderation-toxicity``, ``moderation-spam``)
and the gate. The moderation service loads the ``champion`` alias, so a gated
version serves only once promoted. The ``train.classifier`` task entry point
(``agora.mlops.training.tasks``) builds the pipeline's :class:`ClassifierTraining`.

Example:
    $ agora train classifier
    >>> train_classifier(services, data_dir="../shared/data")["models"]  # doctest: +SKIP
    {'moderation-toxicity': {'decision': 'champion', ...}, 'moderation-spam': {...}}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from agora.errors import InvalidInput
from agora.mlops.tasks import TaskContext
from agora.mlops.training.pipeline import (
    TrainingOutcome,
    TrainingRun,
    TrainingServices,
    champion_metrics,
    guarded,
    register_and_gate,
)

if TYPE_CHECKING:
    from agora.moderation.datasets import Corpus
    from agora.moderation.tables import ModerationExampleRow
    from agora.moderation.text_models import TextClassifier


@dataclass(frozen=True)
class ClassifierTraining(TrainingServices):
    """What the classifier pipeline uses: the training services, plus
    ``moderator_examples``, the labelled examples of the moderators' decisions
    (read when a run starts, so each run sees the latest)."""

    moderator_examples: Callable[[], Sequence[ModerationExampleRow]]


def classifier_metrics(
    clf: TextClassifier,
    test: Corpus,
    embedding_cache: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, float]:
    """Per-label precision/recall/F1/ROC-AUC plus ``f1`` (their mean F1, the gated figure)."""
    from agora.moderation.training import evaluate

    metrics = evaluate(clf, test, embedding_cache=embedding_cache, progress=progress)
    metrics["f1"] = float(np.mean([metrics[f"{label}.f1"] for label in clf.label_names]))
    return metrics


def _train_one(
    services: TrainingServices,
    ctx: TaskContext,
    clf: TextClassifier,
    corpus: Corpus,
    examples: list[Any],
    *,
    reason: str,
    actor: str,
    span: tuple[float, float] = (0.0, 100.0),
) -> dict[str, Any]:
    """One classifier through fit, held-out evaluation and the gate; progress
    inside each long step is reported within ``span`` (percent of the whole run)."""
    from agora.moderation.training import embedding_cache_dir, with_examples

    lo, hi = span

    def report(fraction: float, message: str) -> None:
        ctx.progress(lo + (hi - lo) * fraction, f"{clf.name}: {message}")

    job = getattr(ctx, "job_id", None)
    run_id = f"{job}-{clf.name}" if job else None
    run = TrainingRun.start(services, clf.name, "classifier", reason=reason, run_id=run_id)

    def body() -> TrainingOutcome:
        train, test = corpus.split()
        train = with_examples(train, examples)
        sha = f" sha256:{corpus.sha256}" if corpus.sha256 else ""
        snapshot = (
            f"{corpus.name}:{len(corpus)} rows{sha} (each corpus's test split held out); "
            f"+{len(train) - len(corpus.split()[0])} moderator examples"
        )
        run.update(data_snapshot=snapshot)
        cache = embedding_cache_dir(services.settings.data_dir)
        clf.fit(
            train.texts,
            train.labels,
            # Each row's corpus: the gate serves a stack only where it holds up
            # on the corpora it was not fitted on (agora.moderation.gate).
            groups=train.row_sources(),
            embedding_cache=cache,
            progress=lambda f, m: report(0.8 * f, m),
        )
        report(0.8, f"evaluating on {len(test)} held-out texts")

        def held_out(done: int, total: int) -> None:
            report(0.8 + 0.1 * done / max(total, 1), f"held-out embeddings {done}/{total} texts")

        metrics = classifier_metrics(clf, test, cache, held_out)
        metrics |= {"train_rows": float(len(train)), "test_rows": float(len(test))}
        report(0.9, "scoring the champion on the same held-out texts")
        champion = champion_metrics(
            services, clf.name, lambda champ: classifier_metrics(champ, test, cache)
        )
        report(0.95, "registering and gating")

        def save(m: dict[str, float], snap: str) -> Any:
            return services.models.save(
                clf.name,
                clf,
                params={
                    "C": clf.C,
                    "calibration_folds": clf.calibration_folds,
                    "embeddings": clf.embeddings,
                    "served_views": clf.served_,
                    "gate_metric": clf.gate_metric,
                },
                metrics=m
                | {f"threshold.{k}": v for k, v in clf.cuts().items()}
                | {
                    f"gate.{label}.{view}": v
                    for label, figs in clf.gate_.items()
                    for view, v in figs.items()
                },
                data_snapshot=snap,
                features=clf.feature_names,
            )

        return register_and_gate(
            services,
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
    services: ClassifierTraining,
    ctx: TaskContext | None = None,
    *,
    data_dir: str | None = None,
    sample: int | None = None,
    reason: str = "manual",
    actor: str = "pipeline:train.classifier",
    end: str | None = None,
    days: float | None = None,
    embeddings: bool = True,
    only: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Train, evaluate, register and gate the moderation text classifiers.

    ``only`` names the classifiers to train (default: both).

    ``data_dir``: the folder with ``hate-offensive-davidson/`` and
    ``sms-spam-collection/``, and optionally ``tweeteval/`` and ``email-spam/``,
    whose corpora are added (default ``moderation.train_data_dir``, else the
    ``shared/data`` folder beside the working directory or the checkout, see
    ``agora.moderation.datasets.default_data_dirs``); ``sample``
    caps each corpus (quick runs); ``embeddings=False`` trains the TF-IDF
    view alone (no sentence encoder). ``end``/``days`` are accepted for a uniform
    ``agora train`` interface; the corpora are not time windows.
    """
    from agora.moderation.datasets import (
        default_data_dirs,
        find_training_data,
        spam_corpus,
        toxicity_corpus,
    )
    from agora.moderation.text_models import SpamClassifier, ToxicityClassifier
    from agora.moderation.training import Example

    del end, days
    ctx = ctx or TaskContext()
    folder = data_dir or services.settings.moderation.train_data_dir
    if not folder:
        found = find_training_data(default_data_dirs())
        if found is None:
            raise InvalidInput(
                "no training data: give data_dir (a folder holding "
                "hate-offensive-davidson/labeled_data.csv and "
                "sms-spam-collection/SMSSpamCollection) or set AGORA_MODERATION__TRAIN_DATA_DIR"
            )
        folder = str(found)
    examples = [
        Example(row.text, {k: int(v) for k, v in row.labels.items()})
        for row in services.moderator_examples()
    ]
    pairs: list[tuple[TextClassifier, Corpus]] = [
        # Every corpus labelled for the task (davidson + TweetEval; SMS + e-mail):
        # models fitted on one source do not travel (benchmarks/generalisation_moderation.py).
        (ToxicityClassifier(embeddings=embeddings), toxicity_corpus(Path(folder))),
        (SpamClassifier(embeddings=embeddings), spam_corpus(Path(folder))),
    ]
    if only is not None:
        unknown = set(only) - {clf.name for clf, _ in pairs}
        if unknown:
            raise InvalidInput(f"unknown classifiers {sorted(unknown)}")
        pairs = [(clf, corpus) for clf, corpus in pairs if clf.name in only]
    out: dict[str, Any] = {}
    sized = [(clf, corpus.sample(sample) if sample else corpus) for clf, corpus in pairs]
    # Each classifier's share of the bar follows its corpus size (davidson is 4x SMS).
    total = sum(len(data) for _, data in sized)
    start = 5.0
    for clf, data in sized:
        stop = start + 90.0 * len(data) / total
        ctx.progress(start, f"training {clf.name} on {len(data)} rows from {folder}")
        out[clf.name] = _train_one(
            services, ctx, clf, data, examples, reason=reason, actor=actor, span=(start, stop)
        )
        start = stop
    ctx.progress(100, ", ".join(f"{k}: {v['decision']}" for k, v in out.items()))
    return {"models": out, "moderator_examples": len(examples)}
