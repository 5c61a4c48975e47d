"""Task entry point ``agora.recommend.training:train``: the gated recommender pipeline.

The same path as ``train.recommender``, ``agora train recommender``,
``agora recommend train`` and the retraining trigger: time holdout, NDCG@10
against the champion, registration, gate (``agora.mlops.training.recommender``).

Example:
    >>> from agora.recommend.training import train  # doctest: +SKIP
    >>> train(platform)["models"]["hybrid"]["decision"]  # doctest: +SKIP
    'challenger'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agora.mlops.tasks import TaskContext
    from agora.runtime import Platform


def train(platform: Platform, ctx: TaskContext | None = None, **params: Any) -> dict[str, Any]:
    """Fit, evaluate, register and gate every recommender (``train_recommender``)."""
    from agora.mlops.training.recommender import train_recommender

    return train_recommender(platform, ctx, **params)
