"""Scheduler task entry points of recommendations: ``update_trending`` (hourly),
``precompute`` (every 2 h), ``warm_cache`` (every 30 min), ``settle_rewards``,
and ``train`` (the gated ``train.recommender`` pipeline).

Task functions take the composition root (``fn(platform)``, see
``agora.mlops.tasks``) and build what the jobs use from it here, in one place
(:func:`job_services`); the work itself is in :mod:`agora.recommend.jobs`.

Example:
    >>> precompute(platform)  # doctest: +SKIP
    {'users': 120, 'lists': 720}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agora.recommend import jobs

if TYPE_CHECKING:
    from agora.mlops.tasks import TaskContext
    from agora.runtime import Platform


def served_reloader(platform: Platform) -> Callable[[], None]:
    """Drops the cached models and lists of ``platform``'s recommendation service,
    if this process built one (nothing is loaded otherwise)."""

    def reload() -> None:
        if platform.built("recommendations"):
            platform.recommendations.reload()

    return reload


def job_services(platform: Platform) -> jobs.JobServices:
    """What :mod:`agora.recommend.jobs` works with, from ``platform`` (lazily)."""
    return jobs.JobServices(
        db=platform.db,
        recommend=platform.settings.recommend,
        features=platform.settings.features,
        models=lambda: platform.models,
        search_backends=lambda: platform.search_backends,
        recommendations=lambda: platform.recommendations,
        reload_served=served_reloader(platform),
    )


def precompute(platform: Platform) -> dict[str, int]:
    """Store candidate lists for active users (see :func:`agora.recommend.jobs.precompute`)."""
    return jobs.precompute(job_services(platform))


def warm_cache(platform: Platform, *, n: int = 10) -> dict[str, int]:
    """Serve the hybrid list of every active user once so their first request is a cache hit."""
    users = jobs.active_users(platform.db, platform.settings.recommend)
    service = platform.recommendations
    for user in users:
        service.recommend(user, n, algorithm="hybrid")
    return {"users": len(users)}


def settle_rewards(platform: Platform) -> dict[str, int]:
    """Attribute engagement to bandit servings and settle the canary lists (every few
    minutes; each part commits on its own, so a failure of the second leaves the
    first done, and the next run retries what is left)."""
    return jobs.settle_rewards(job_services(platform))


def update_trending(platform: Platform) -> dict[str, int]:
    """Scheduler task ``trending``: recompute the trending lists (hourly)."""
    return jobs.refresh_trending(job_services(platform))


def train(platform: Platform, ctx: TaskContext | None = None, **params: Any) -> dict[str, Any]:
    """Fit, evaluate, register and gate every recommender: the ``train.recommender``
    pipeline (time holdout, NDCG@10 against the champion, registration, gate;
    ``agora.mlops.training.recommender``)."""
    from agora.mlops.training.tasks import train_recommender

    return train_recommender(platform, ctx, **params)
