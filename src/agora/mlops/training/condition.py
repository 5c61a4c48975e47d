"""Image condition training pipeline (``train.condition``, ``agora train condition``).

Data: the shared images (``agora.vision.corpus``), split by *image* (seeded),
each degraded by the training types of ``agora.vision.degrade`` at stratified
random strengths; the strength is the label. The held-out images are degraded
the same way (``spearman``, the gated figure) and by the types never used in
fitting (``spearman.unseen.<type>``); photos from other sources than the
training art (``ukbench``, ``face_photos``) give ``spearman.other_source.<source>``
(training types) and ``spearman.other_source.<source>.unseen`` (unseen types).
Each figure is Spearman's rank correlation between the predicted damage
(``1 - condition_score``) and the true strength: 1 is a perfect order.

The champion is scored on the same held-out rows; the ``condition`` family's
gate compares ``spearman``. The moderation service serves the ``image-condition``
champion (``agora.vision.condition.ConditionGrader``).

Example:
    >>> train_condition(services, data_dir="../shared/data")["decision"]  # doctest: +SKIP
    'champion'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

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
    from PIL import Image

    from agora.encoders.base import ImageEncoder
    from agora.vision.condition import ConditionModel


@dataclass(frozen=True)
class ConditionTraining(TrainingServices):
    """The training services plus the process's image encoder (opened on first use)."""

    image_encoder: Callable[[], ImageEncoder]


@dataclass
class DegradedRows:
    """Degraded images as model inputs: measures, encoder features, labels, types, image ids."""

    measures: NDArray[np.float64]
    features: NDArray[np.float64]
    strengths: NDArray[np.float64]
    kinds: list[str]
    images: NDArray[np.int64]

    def where(self, kinds: Sequence[str]) -> DegradedRows:
        """The rows of these degradation types (``clean`` rows always kept)."""
        keep = np.array([k in kinds or k == "clean" for k in self.kinds])
        return DegradedRows(
            self.measures[keep],
            self.features[keep],
            self.strengths[keep],
            [k for k, m in zip(self.kinds, keep, strict=True) if m],
            self.images[keep],
        )


def degraded_rows(
    images: list[Image.Image],
    kinds: tuple[str, ...],
    per_kind: int,
    encoder: ImageEncoder,
    *,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
) -> DegradedRows:
    """Degrade ``images`` (clean + ``per_kind`` strengths per type) and compute the inputs."""
    from agora.vision.degrade import degraded_set
    from agora.vision.measures import measure_vector

    pictures, strengths, names, source = degraded_set(images, kinds, per_kind, seed)
    measures = np.stack([measure_vector(p) for p in pictures]).astype(np.float64)
    feats = []
    for start in range(0, len(pictures), 32):
        feats.append(encoder.encode_images(pictures[start : start + 32]).features)
        if progress:
            progress(min(start + 32, len(pictures)), len(pictures))
    return DegradedRows(
        measures, np.vstack(feats).astype(np.float64), strengths, names, source.astype(np.int64)
    )


def spearman(model: ConditionModel, rows: DegradedRows) -> float:
    """Rank correlation of predicted and true degradation strength (1: perfect order)."""
    from scipy.stats import spearmanr

    predicted = model.predict_strength(
        rows.measures, rows.features if model.needs_features else None
    )
    return float(spearmanr(predicted, rows.strengths).statistic)


def condition_metrics(model: ConditionModel, held_out: dict[str, DegradedRows]) -> dict[str, float]:
    """Every figure of the module docstring, from the held-out row sets."""
    from agora.vision.degrade import TRAINING_TYPES, UNSEEN_TYPES

    test = held_out["held_out"]
    seen = test.where(TRAINING_TYPES)
    predicted = model.predict_strength(
        seen.measures, seen.features if model.needs_features else None
    )
    out = {
        "spearman": spearman(model, seen),
        "mae": float(np.abs(predicted - seen.strengths).mean()),
    }
    for kind in UNSEEN_TYPES:
        out[f"spearman.unseen.{kind}"] = spearman(model, test.where((kind,)))
    out["spearman.unseen"] = spearman(model, test.where(UNSEEN_TYPES))
    for name, rows in held_out.items():
        if name == "held_out":
            continue
        out[f"spearman.other_source.{name}"] = spearman(model, rows.where(TRAINING_TYPES))
        out[f"spearman.other_source.{name}.unseen"] = spearman(model, rows.where(UNSEEN_TYPES))
    return out


def build_rows(
    data_dir: Path,
    encoder: ImageEncoder,
    *,
    train_images: int,
    test_images: int,
    per_kind: int,
    other_sources: Sequence[str],
    other_limit: int,
    report: Callable[[float, str], None],
    seed: int = 0,
) -> tuple[DegradedRows, dict[str, DegradedRows], str]:
    """Training rows, held-out row sets by name, and the data snapshot description."""
    from agora.vision.corpus import load_source
    from agora.vision.degrade import DEGRADATIONS, TRAINING_TYPES

    art = load_source(data_dir, "sprites", train_images + test_images, seed)
    if len(art) < 20:
        raise InvalidInput(
            f"too few training images under {data_dir} (need arcade-kenney-sprites/); "
            "give data_dir, the shared/data folder"
        )
    cut = int(len(art) * train_images / (train_images + test_images))
    every = tuple(DEGRADATIONS)

    def encode(label: str, lo: float, hi: float) -> Callable[[int, int], None]:
        return lambda done, total: report(lo + (hi - lo) * done / total, f"{label} {done}/{total}")

    train = degraded_rows(
        art[:cut], TRAINING_TYPES, per_kind, encoder, seed=seed, progress=encode("train", 5, 50)
    )
    held: dict[str, DegradedRows] = {
        "held_out": degraded_rows(
            art[cut:], every, per_kind, encoder, seed=seed + 1, progress=encode("test", 50, 70)
        )
    }
    counts = {"sprites": f"{cut} train / {len(art) - cut} held-out"}
    for i, source in enumerate(other_sources):
        photos = load_source(data_dir, source, other_limit, seed)
        if photos:
            held[source] = degraded_rows(
                photos, every, per_kind, encoder, seed=seed + 2 + i,
                progress=encode(source, 70, 85),
            )  # fmt: skip
            counts[source] = f"{len(photos)} test"
    snapshot = (
        f"{data_dir}: " + ", ".join(f"{k} {v}" for k, v in counts.items())
        + f"; {per_kind} strengths per degradation type, seed {seed}"
    )  # fmt: skip
    return train, held, snapshot


def train_condition(
    services: ConditionTraining,
    ctx: TaskContext | None = None,
    *,
    data_dir: str | None = None,
    train_images: int = 240,
    test_images: int = 80,
    per_kind: int = 2,
    other_sources: Sequence[str] = ("ukbench", "face_photos"),
    other_limit: int = 64,
    pca_dims: int = 24,
    reason: str = "manual",
    actor: str = "pipeline:train.condition",
    end: str | None = None,
    days: float | None = None,
) -> dict[str, Any]:
    """Train, evaluate, register and gate the image condition model (``image-condition``).

    ``data_dir``: the shared/data folder (default: beside the working directory
    or the checkout). ``end``/``days`` are accepted for a uniform ``agora
    train`` interface; the images are not a time window.
    """
    from agora.moderation.datasets import default_data_dirs
    from agora.vision.condition import CONDITION_MODEL, ConditionModel

    del end, days
    ctx = ctx or TaskContext()
    folder = Path(data_dir) if data_dir else None
    if folder is None:
        folder = next(
            (d for d in default_data_dirs() if (d / "arcade-kenney-sprites").is_dir()), None
        )
    if folder is None:
        raise InvalidInput("no training images: give data_dir (the shared/data folder)")
    run = TrainingRun.start(services, CONDITION_MODEL, "condition", reason=reason)

    def body() -> TrainingOutcome:
        encoder = services.image_encoder()
        train, held, snapshot = build_rows(
            folder,
            encoder,
            train_images=train_images,
            test_images=test_images,
            per_kind=per_kind,
            other_sources=other_sources,
            other_limit=other_limit,
            report=ctx.progress,
        )
        run.update(data_snapshot=snapshot)
        ctx.progress(86, f"fitting on {len(train.strengths)} degraded images")
        model = ConditionModel(pca_dims=pca_dims).fit(
            train.measures, train.features, train.strengths, encoder=encoder.info.key
        )
        metrics = condition_metrics(model, held) | {
            "train_rows": float(len(train.strengths)),
            "test_rows": float(len(held["held_out"].strengths)),
        }
        champion = champion_metrics(services, CONDITION_MODEL, lambda c: condition_metrics(c, held))
        outcome = register_and_gate(
            services,
            run,
            save=lambda m, snap: services.models.save(
                CONDITION_MODEL,
                model,
                params={"pca_dims": pca_dims, "per_kind": per_kind, "encoder": encoder.info.key},
                metrics=m,
                data_snapshot=snap,
                features=model.feature_names,
            ),
            metrics=metrics,
            champion=champion,
            reference=None,
            feature_names=model.feature_names,
            snapshot=snapshot,
            actor=actor,
        )
        ctx.progress(100, f"{outcome.ref}: {outcome.decision} ({outcome.gate.reason})")
        return outcome

    result = guarded(run, body)
    result["metrics"] = services.models.info(CONDITION_MODEL, version=result["version"]).metrics
    return result
