"""The tagging tasks the orchestrator runs (``agora.mlops.tasks.DEFAULT_TASKS``).

Each takes the platform, as every task does, and hands the tagging code only
what it uses: the process's ``TaggingService`` when this process serves tags,
else the stores a training run reads and writes (``HeadsTrainingDeps``).

- ``train.tagger`` (:func:`train`, also ``agora tagging train``): the gated
  pipeline, ``agora.tagging.pipeline.gated_heads_training``;
- ``tagging_retrain`` (:func:`retrain_if_due`): that pipeline when enough new
  feedback arrived (``agora.tagging.retrain``).

Example:
    >>> train_tagger(platform, holdout=0.2)["decision"]  # doctest: +SKIP
    'champion'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agora.tagging import retrain
from agora.tagging.pipeline import HeadsTrainingDeps, gated_heads_training

if TYPE_CHECKING:
    from agora.mlops.tasks import TaskContext
    from agora.runtime import Platform


def heads_training_deps(platform: Platform) -> HeadsTrainingDeps:
    """The stores a tag heads training run uses, from ``platform``."""
    return HeadsTrainingDeps(platform.settings, platform.db, platform.models, platform.consent)


def train_tagger(
    platform: Platform,
    ctx: TaskContext | None = None,
    *,
    holdout: float = 0.2,
    seed: int = 0,
    reason: str = "manual",
    actor: str = "pipeline:train.tagger",
    end: str | None = None,
    days: float | None = None,
) -> dict[str, Any]:
    """The gated heads training on this platform.

    When this process serves tags, the run goes through its service (one run at
    a time with the feedback-triggered retrain, and the new heads serve at once).
    ``end``/``days`` are accepted for a uniform ``agora train`` interface; the
    training set is every consented confirmation, not a time window.
    """
    del end, days
    # The process's service when it runs (it serializes training and refreshes heads).
    if platform.built("tagging"):
        return platform.tagging.train(
            actor=actor, reason=reason, ctx=ctx, holdout=holdout, seed=seed
        )
    return gated_heads_training(
        heads_training_deps(platform), ctx, holdout=holdout, seed=seed, reason=reason, actor=actor
    )


def train(platform: Platform, ctx: TaskContext | None = None, **params: Any) -> dict[str, Any]:
    """The ``train.tagger`` task: :func:`train_tagger`."""
    return train_tagger(platform, ctx, **params)


def retrain_if_due(platform: Platform, ctx: TaskContext | None = None) -> dict[str, Any]:
    """The ``tagging_retrain`` task: ``agora.tagging.retrain.retrain_if_due`` on the
    process's tagging service."""
    return retrain.retrain_if_due(platform.tagging, ctx)
