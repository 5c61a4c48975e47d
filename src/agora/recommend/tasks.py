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

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from agora.recommend import jobs, warming

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


def precompute(
    platform: Platform,
    ctx: TaskContext | None = None,
    *,
    user_ids: Sequence[str] | None = None,
    algorithms: Sequence[str] | None = None,
    n: int = 10,
) -> dict[str, int]:
    """Store candidate lists (:func:`agora.recommend.jobs.precompute`) for active users,
    or ``user_ids``; with either of ``user_ids``/``algorithms``, also compute their
    served lists of ``n`` afresh into the cache (``agora.recommend.warming``).
    Progress: the first half stores, the second serves."""
    progress = _progress(ctx)
    chosen = warming.warm_algorithms(algorithms) if algorithms or user_ids else None
    stored = jobs.precompute(
        job_services(platform),
        users=user_ids,
        arms=chosen,
        progress=lambda f: progress(f / 2 if chosen else f),
    )
    if chosen is None:
        return stored
    users = (
        list(user_ids)
        if user_ids is not None
        else jobs.active_users(platform.db, platform.settings.recommend)
    )
    served = warming.refresh_lists(
        platform.recommendations, users, chosen, n, lambda f: progress(0.5 + f / 2)
    )
    return {**stored, "served_lists": served["lists"], "fallbacks": served["fallbacks"]}


def warm_cache(
    platform: Platform,
    ctx: TaskContext | None = None,
    *,
    n: int = 10,
    segments: Sequence[str] | None = None,
    algorithms: Sequence[str] | None = None,
) -> dict[str, int]:
    """Serve the lists of ``n`` (hybrid unless ``algorithms``) of every active user,
    or of those in ``segments``, once, so their first request is a cache hit."""
    s = platform.settings
    users = warming.users_in_segments(platform.db, s.recommend, s.features, segments)
    chosen = warming.warm_algorithms(algorithms)
    served = warming.warm_lists(platform.recommendations, users, chosen, n, _progress(ctx))
    return {"users": len(users), **served}


def _progress(ctx: TaskContext | None) -> Callable[[float], None]:
    """Report a fraction as a percent, at most once per whole percent (each report is
    a write, and the cancellation check)."""
    last = [-1]

    def report(fraction: float) -> None:
        percent = int(100 * min(1.0, max(0.0, fraction)))
        if ctx is not None and percent > last[0]:
            last[0] = percent
            ctx.progress(percent)

    return report


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
