"""Scheduler task entry points of recommendations: ``update_trending`` (hourly),
``precompute`` (every 2 h), ``warm_cache`` (every 30 min) and ``settle_rewards``.

Task functions take the composition root (``fn(platform)``, see
``agora.mlops.tasks``); the work itself is in :mod:`agora.recommend.jobs`.

Example:
    >>> precompute(platform)  # doctest: +SKIP
    {'users': 120, 'lists': 720}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agora.recommend import jobs

if TYPE_CHECKING:
    from agora.runtime import Platform


def precompute(platform: Platform) -> dict[str, int]:
    """Store candidate lists for active users (see :func:`agora.recommend.jobs.precompute`)."""
    return jobs.precompute(platform)


def warm_cache(platform: Platform, *, n: int = 10) -> dict[str, int]:
    """Serve the hybrid list of every active user once so their first request is a cache hit."""
    users = jobs.active_users(platform)
    service = platform.recommendations
    for user in users:
        service.recommend(user, n, algorithm="hybrid")
    return {"users": len(users)}


def settle_rewards(platform: Platform) -> dict[str, int]:
    """Attribute engagement to bandit servings and settle the canary lists (every few
    minutes; each part commits on its own, so a failure of the second leaves the
    first done, and the next run retries what is left)."""
    return jobs.settle_rewards(platform)


def update_trending(platform: Platform) -> dict[str, int]:
    """Scheduler task ``trending``: recompute the trending lists (hourly)."""
    return jobs.refresh_trending(platform)
