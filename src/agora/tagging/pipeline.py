"""The one training path of the tag heads: fit, evaluate against the champion,
register, gate.

Every way in ends here: the ``train.tagger`` task and ``agora train tagger`` /
``agora tagging train`` (``agora.tagging.tasks.train_tagger``), ``POST /api/v1/tagging/train``,
the feedback-triggered retrain and the ``tagging_retrain`` scheduler task
(``TaggingService.train``, which calls :func:`gated_heads_training` under the
service's training lock). A retrain therefore never promotes heads that lose
to the champion on the same holdout.

The pipeline holds out a share of the assets with *confirmed* tags (feedback,
not creator tags), fits heads on the rest, scores top-3 precision on the
held-out confirmations (the ADR's sense: the share of held-out (asset,
category) pairs whose confirmed tag is among the category's 3 most probable
tags), scores the champion on the same holdout, then registers the candidate
and lets the evaluation gate decide (first model -> champion, gate passed ->
challenger and canary, else rejected).

The held-out assets leave the candidate's catalog too (the heads also use
unlabelled catalog rows), so the figure is measured on assets the candidate
never saw. The champion may have been trained on them: a bias towards
keeping the champion, the safe side of a gate. A champion fitted on another
encoder's vectors cannot serve these assets at all and scores 0.

Example:
    >>> deps = HeadsTrainingDeps(settings, db, models, consent)  # doctest: +SKIP
    >>> gated_heads_training(deps)["decision"]  # doctest: +SKIP
    'champion'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from agora.errors import InvalidInput
from agora.mlops.registry import ModelRegistry
from agora.mlops.tasks import TaskContext
from agora.mlops.training.pipeline import (
    TrainingBackends,
    TrainingOutcome,
    TrainingRun,
    champion_metrics,
    guarded,
    register_and_gate,
)
from agora.tagging.heads import TagHeads, TagKey
from agora.tagging.reset import retired_upto, serves
from agora.tagging.training import HEADS_MODEL, TrainingSet, build_training_set

if TYPE_CHECKING:
    from agora.config import Settings
    from agora.governance.consent import ConsentRegistry
    from agora.mlops.base import ModelStore
    from agora.storage.database import Database


class TaggerBackends(TrainingBackends, Protocol):
    """The backends of a tag heads training run (``HeadsTrainingDeps`` or a
    ``TaggingService``)."""

    @property
    def consent(self) -> ConsentRegistry: ...


@dataclass(frozen=True)
class HeadsTrainingDeps:
    """What a tag heads training run reads and writes, outside a tagging service:
    built at the edge (``agora.tagging.tasks``)."""

    settings: Settings
    db: Database
    models: ModelStore
    consent: ConsentRegistry


#: Fewest assets with confirmed tags before a holdout means anything.
MIN_CONFIRMED = 5


def holdout_split(data: TrainingSet, share: float, seed: int) -> tuple[list[int], list[int]]:
    """(train, holdout) row indices: held-out rows have confirmed tags, and every
    confirmed tag of theirs keeps at least one confirmed example in training."""
    candidates = [i for i, tags in enumerate(data.confirmed) if tags]
    if len(candidates) < MIN_CONFIRMED:
        raise InvalidInput(
            f"{len(candidates)} assets with confirmed tags (from owners who allow model "
            f"training); the gated pipeline needs at least {MIN_CONFIRMED}"
        )
    left: dict[TagKey, int] = {}
    for i in candidates:
        for key in data.confirmed[i]:
            left[key] = left.get(key, 0) + 1
    want = max(1, round(share * len(candidates)))
    held: list[int] = []
    for i in np.random.default_rng(seed).permutation(candidates):
        if len(held) == want:
            break
        if all(left[key] > 1 for key in data.confirmed[int(i)]):
            held.append(int(i))
            for key in data.confirmed[int(i)]:
                left[key] -= 1
    if not held:
        raise InvalidInput("every confirmed tag has a single example: nothing can be held out")
    hold = set(held)
    return [i for i in range(len(data.asset_ids)) if i not in hold], sorted(held)


def holdout_metrics(
    heads: TagHeads,
    rows: np.ndarray,
    truths: Sequence[set[TagKey]],
    serves: Callable[[str], bool] | None = None,
) -> dict[str, float]:
    """``precision@3`` and ``top1_accuracy`` over the (asset, category) pairs of ``truths``;
    ``serves``: the categories the heads may tag (a reset retires a champion's)."""
    probs = heads.predict_proba(rows) if heads.heads else {}
    if serves is not None:
        probs = {key: p for key, p in probs.items() if serves(key[0])}
    hits3, hits1 = [], []
    for i, truth in enumerate(truths):
        for category in sorted({c for c, _ in truth}):
            ranked = sorted(
                ((float(p[i]), key) for key, p in probs.items() if key[0] == category),
                reverse=True,
            )
            top = [key for _, key in ranked[:3]]
            hits3.append(any(key in truth for key in top))
            hits1.append(bool(top) and top[0] in truth)
    return {"precision@3": float(np.mean(hits3)), "top1_accuracy": float(np.mean(hits1))}


def first_heads_allowed(platform: TaggerBackends, data: TrainingSet) -> bool:
    """Whether heads may be fitted without a holdout: no champion yet, and confirmed
    examples of at least two tags (the first heads of a new deployment at k = 1)."""
    tags = {key for confirmed in data.confirmed for key in confirmed}
    if len(tags) < 2:
        return False
    return ModelRegistry(platform.models, platform.db).deployment(HEADS_MODEL).champion is None


def _without(catalog: np.ndarray, rows: np.ndarray) -> np.ndarray:
    drop = {row.tobytes() for row in rows}
    keep = [i for i, row in enumerate(catalog) if row.tobytes() not in drop]
    return catalog[keep]


def gated_heads_training(
    platform: TaggerBackends,
    ctx: TaskContext | None = None,
    *,
    holdout: float = 0.2,
    seed: int = 0,
    reason: str = "manual",
    actor: str = "pipeline:train.tagger",
) -> dict[str, Any]:
    """Fit, evaluate on held-out confirmed tags, register and gate new tag heads.

    Raises ``InvalidInput`` when too few assets have confirmed tags for a holdout
    (nothing is registered then).
    """
    from agora.tagging.factory import stored_taxonomy
    from agora.tagging.features import TaggingFeatureExtractor

    if not 0 < holdout < 1:
        raise InvalidInput("holdout must be a share between 0 and 1")
    ctx = ctx or TaskContext()
    # No encoder is loaded here: the head inputs were stored at tagging time.
    taxonomy = stored_taxonomy(platform.db, platform.settings.tagging)
    encoder = TaggingFeatureExtractor.info.key
    job = getattr(ctx, "job_id", None)
    run_id = f"{job}-tagger" if job else None
    run = TrainingRun.start(platform, HEADS_MODEL, "tagger", reason=reason, run_id=run_id)

    def body() -> TrainingOutcome:
        ctx.progress(5, "reading feedback and head inputs")
        data = build_training_set(platform.db, platform.consent, taxonomy, encoder)
        try:
            train, held = holdout_split(data, holdout, seed)
        except InvalidInput:
            if not first_heads_allowed(platform, data):
                raise
            # One confirmed example per tag (k = 1): nothing can be held out, but with no
            # champion there is nothing to compare with either, and the gate admits the
            # first model however poor. The heads learn from every example; their figures
            # are in-sample and say so (holdout_assets 0, in_sample 1).
            train, held = list(range(len(data.labels))), []
        snapshot = (
            f"tag_feedback<={data.last_feedback_id}; {len(train)} training assets, "
            f"{len(held)} held out (seed {seed}); encoder {encoder}"
        )
        run.update(data_snapshot=snapshot)
        ctx.progress(20, f"fitting heads on {len(train)} assets")
        heads = TagHeads().fit(
            data.x[train], [data.labels[i] for i in train], _without(data.catalog, data.x[held])
        )
        truths = [data.confirmed[i] for i in held]
        scored = held or [i for i in train if data.confirmed[i]]
        metrics = holdout_metrics(heads, data.x[scored], [data.confirmed[i] for i in scored]) | {
            "examples": float(len(train)),
            "holdout_assets": float(len(held)),
            "in_sample": float(not held),
            "tags": float(len(heads.heads)),
        }
        ctx.progress(70, f"candidate precision@3 {metrics['precision@3']:.3f}")

        def score(champion: Any) -> dict[str, float]:
            info = platform.models.info(HEADS_MODEL, alias="champion")
            if not isinstance(champion, TagHeads) or encoder not in (info.features or []):
                return {"precision@3": 0.0, "top1_accuracy": 0.0}
            # A category reset retired the champion for is measured as it serves: untagged.
            retired = retired_upto(platform.db)
            return holdout_metrics(
                champion, data.x[held], truths, lambda c: serves(retired, info.ref.version, c)
            )

        def save(m: dict[str, float], snap: str) -> Any:
            params = {"C": heads.C, "encoder": encoder, "taxonomy": taxonomy.version,
                      "propagation_weight": heads.propagation_weight}  # fmt: skip
            return platform.models.save(
                HEADS_MODEL, heads, params=params, metrics=m, data_snapshot=snap, features=[encoder]
            )

        outcome = register_and_gate(
            platform, run, save=save, metrics=metrics,
            champion=champion_metrics(platform, HEADS_MODEL, score),
            reference=None, feature_names=[encoder], snapshot=snapshot, actor=actor,
        )  # fmt: skip
        ctx.progress(100, f"{outcome.ref}: {outcome.decision} ({outcome.gate.reason})")
        return outcome

    return guarded(run, body)
