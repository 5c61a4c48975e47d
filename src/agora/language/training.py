"""The gated training pipeline of the language heads (``train.language``,
``agora train language``).

Each head (``language-sentiment``, ``language-emotion``, ``language-intent``,
``language-chat-intent``) is fitted on its corpus's training split, its
settings chosen and its figure measured on the development split (never the
test split, which only ``benchmarks/language.py`` reads, once), then saved to
the model store and put through the evaluation gate of the ``classifier``
family: a first version becomes champion; a later one must beat the champion,
scored on the same development split, by ``mlops.gate_margin``.

The gated figure ``f1`` is the head's own: macro-F1 for sentiment and both
intent heads, weighted-F1 for emotion (the figure MELD results are published in).

Example:
    $ agora train language --only language-sentiment
    >>> train_language(services, data_dir="../shared/data")["models"]  # doctest: +SKIP
    {'language-sentiment': {'decision': 'champion', 'model': 'language-sentiment@1', ...}}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agora.errors import InvalidInput
from agora.language import datasets as ds
from agora.language.heads import TextHead
from agora.mlops.tasks import TaskContext
from agora.mlops.training.pipeline import (
    TrainingOutcome,
    TrainingRun,
    TrainingServices,
    champion_metrics,
    guarded,
    register_and_gate,
)

FAMILY = "classifier"
SPLIT_SEED = 7


@dataclass(frozen=True)
class HeadSpec:
    """How one head is built and which splits it learns and is gated on."""

    name: str
    build: Callable[[tuple[str, ...]], TextHead]
    splits: Callable[[Path], tuple[ds.LabelledTexts, ds.LabelledTexts]]
    source: str


def chat_splits(
    data: ds.LabelledTexts, seed: int = SPLIT_SEED
) -> tuple[ds.LabelledTexts, ds.LabelledTexts, ds.LabelledTexts]:
    """Train / development / test (60/20/20) of the chat set, stratified by intent
    and language, seeded: the benchmark's test rows are never trained on."""
    rng = np.random.default_rng(seed)
    parts: tuple[list[int], list[int], list[int]] = ([], [], [])
    strata: dict[tuple[int, str], list[int]] = {}
    for i, (label, lang) in enumerate(zip(data.labels, data.groups, strict=True)):
        strata.setdefault((label, lang), []).append(i)
    for rows in strata.values():
        order = [rows[k] for k in rng.permutation(len(rows))]
        n_test = max(1, round(0.2 * len(order)))
        n_dev = max(1, round(0.2 * len(order)))
        parts[2].extend(order[:n_test])
        parts[1].extend(order[n_test : n_test + n_dev])
        parts[0].extend(order[n_test + n_dev :])
    return data.take(sorted(parts[0])), data.take(sorted(parts[1])), data.take(sorted(parts[2]))


def _chat(_: Path) -> tuple[ds.LabelledTexts, ds.LabelledTexts]:
    train, dev, _test = chat_splits(ds.chat_intents())
    return train, dev


HEADS: dict[str, HeadSpec] = {
    "language-sentiment": HeadSpec(
        "language-sentiment",
        lambda classes: TextHead("language-sentiment", classes, ngrams="char", balanced=(False,)),
        lambda d: (ds.xlmt_all(d, "train"), ds.xlmt_all(d, "val")),
        "XLM-T sentiment, 8 languages (xlmt-sentiment/*/train, val)",
    ),
    "language-emotion": HeadSpec(
        "language-emotion",
        lambda classes: TextHead(
            "language-emotion",
            classes,
            ngrams="char",
            n_features=2**17,
            metric="weighted_f1",
        ),
        lambda d: (ds.meld_emotion(d, "train"), ds.meld_emotion(d, "val")),
        "MELD (meld-emotion/train, dev)",
    ),
    "language-intent": HeadSpec(
        "language-intent",
        lambda classes: TextHead(
            "language-intent",
            classes,
            ngrams="word",
            n_features=2**15,
            balanced=(False,),
            c_grid=(8.0, 32.0),
            metric="accuracy",
            oos_class=ds.OOS,
        ),
        lambda d: (ds.clinc150(d, "train"), ds.clinc150(d, "val")),
        "CLINC150 data_full (clinc150-intent: train + oos_train, val + oos_val)",
    ),
    "language-chat-intent": HeadSpec(
        "language-chat-intent",
        lambda classes: TextHead(
            "language-chat-intent",
            classes,
            ngrams="char",
            n_features=2**16,
            c_grid=(4.0, 16.0, 64.0),
            balanced=(False,),
        ),
        _chat,
        "Agora marketplace chat set (agora/language/data/chat_intents.csv, 60/20 split)",
    ),
}
NAMES = tuple(HEADS)


def embed(
    texts: Sequence[str],
    *,
    profile: str = "minilm",
    encoders: Any = None,
    cache_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, str]:
    """Sentence embeddings of a corpus (cached on disk per encoder) and the encoder key."""
    from agora.moderation.embeddings import SentenceFeatures

    feats = SentenceFeatures(profile, encoders=encoders)
    vectors = feats.transform(list(texts), cache_dir=cache_dir, progress=progress)
    return vectors, str(feats.key)


def fit_head(
    spec: HeadSpec,
    train: ds.LabelledTexts,
    dev: ds.LabelledTexts,
    *,
    encoders: Any = None,
    cache_dir: Path | None = None,
) -> tuple[TextHead, dict[str, float]]:
    """A fitted head and its development-split figures (``f1``: the gated one)."""
    head = spec.build(train.classes)
    x, key = embed(train.texts, profile=head.profile, encoders=encoders, cache_dir=cache_dir)
    dx, _ = embed(dev.texts, profile=head.profile, encoders=encoders, cache_dir=cache_dir)
    head.fit(train.texts, train.labels, x, val=(dev.texts, dev.labels, dx), encoder_key=key)
    metrics = head.evaluate(dev.texts, dev.labels, dx)
    metrics["f1"] = metrics[head.metric]
    return head, metrics


def sample_rows(data: ds.LabelledTexts, n: int | None, seed: int = SPLIT_SEED) -> ds.LabelledTexts:
    """At most ``n`` rows, a seeded random sample (every row when ``n`` is None)."""
    if n is None or n >= len(data):
        return data
    rows = np.random.default_rng(seed).choice(len(data), size=n, replace=False)
    return data.take(sorted(int(i) for i in rows))


def _train_one(
    services: TrainingServices,
    spec: HeadSpec,
    data_dir: Path,
    *,
    reason: str,
    actor: str,
    cache_dir: Path | None,
    sample: int | None = None,
) -> dict[str, Any]:
    run = TrainingRun.start(services, spec.name, FAMILY, reason=reason)

    def body() -> TrainingOutcome:
        train, dev = spec.splits(data_dir)
        train = sample_rows(train, sample)
        dev = sample_rows(dev, sample // 4 if sample else None)
        snapshot = (
            f"{spec.source}: {len(train)} train / {len(dev)} development rows "
            f"sha256:{train.sha256[:16]}"
        )
        run.update(data_snapshot=snapshot)
        head, metrics = fit_head(spec, train, dev, cache_dir=cache_dir)
        champion = champion_metrics(
            services,
            spec.name,
            lambda champ: fit_metrics(champ, dev, cache_dir),
        )

        def save(m: dict[str, float], snap: str) -> Any:
            ref = services.models.save(
                spec.name,
                head,
                params={
                    "C": head.C,
                    "class_weight": head.class_weight or "none",
                    "ngrams": head.ngrams,
                    "n_features": head.n_features,
                    "encoder": head.encoder_key or "",
                    "oos_threshold": head.oos_threshold,
                    "metric": head.metric,
                },
                metrics=m,
                data_snapshot=snap,
                features=[f"{head.profile}-embedding", f"{head.ngrams}-ngrams"],
            )
            head.version = ref.version
            return ref

        return register_and_gate(
            services,
            run,
            save=save,
            metrics=metrics,
            champion=champion,
            reference=None,
            feature_names=[],
            snapshot=snapshot,
            actor=actor,
        )

    return guarded(run, body)


def fit_metrics(head: TextHead, dev: ds.LabelledTexts, cache_dir: Path | None) -> dict[str, float]:
    """A stored head's figures on a development split (the champion's side of the gate)."""
    x, _ = embed(dev.texts, profile=head.profile, cache_dir=cache_dir)
    metrics = head.evaluate(dev.texts, dev.labels, x)
    metrics["f1"] = metrics[head.metric]
    return metrics


def train_language(
    services: TrainingServices,
    ctx: TaskContext | None = None,
    *,
    data_dir: str | None = None,
    only: Sequence[str] | None = None,
    reason: str = "manual",
    actor: str = "pipeline:train.language",
    embedding_cache: str | None = None,
    sample: int | None = None,
    end: str | None = None,
    days: float | None = None,
) -> dict[str, Any]:
    """Train, evaluate, register and gate the language heads (``only``: some of them).

    ``data_dir``: the folder with ``xlmt-sentiment/``, ``meld-emotion/`` and
    ``clinc150-intent/`` (default: ``shared/data`` beside the working directory
    or the checkout); ``embedding_cache``: where corpus embeddings are kept
    between runs (default ``<data_dir>/language/embeddings``); ``sample`` caps
    each training split (a seeded sample; development splits at a quarter of
    it), for quick runs on a slow machine. ``end``/``days``
    are accepted for a uniform ``agora train`` interface.
    """
    from agora.moderation.datasets import default_data_dirs

    del end, days
    ctx = ctx or TaskContext()
    names = list(only) if only else list(NAMES)
    unknown = set(names) - set(HEADS)
    if unknown:
        raise InvalidInput(f"unknown language heads {sorted(unknown)}: {list(NAMES)}")
    folder = Path(data_dir) if data_dir else _find_data(default_data_dirs())
    cache = (
        Path(embedding_cache)
        if embedding_cache
        else Path(services.settings.data_dir) / "language" / "embeddings"
    )
    out: dict[str, Any] = {}
    for i, name in enumerate(names):
        ctx.progress(100.0 * i / len(names), f"training {name} from {folder}")
        out[name] = _train_one(
            services,
            HEADS[name],
            folder,
            reason=reason,
            actor=actor,
            cache_dir=cache,
            sample=sample,
        )
    ctx.progress(100, ", ".join(f"{k}: {v['decision']}" for k, v in out.items()))
    return {"models": out}


def _find_data(candidates: Sequence[Path]) -> Path:
    for path in candidates:
        if (Path(path) / ds.XLMT).is_dir():
            return Path(path)
    raise InvalidInput(
        "no training data: give data_dir (a folder holding xlmt-sentiment/, meld-emotion/ "
        "and clinc150-intent/, see shared/data/SOURCES.md)"
    )
