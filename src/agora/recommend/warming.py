"""Serve lists ahead of their requests: seed 003's recommendation precompute and cache warm.

Both go through the serving path itself (:class:`RecommendationService`:
consent, catalog filter, diversity, fallbacks) and its served-list cache, so
the next ``GET /recommendations/{user}`` with the same ``n``, algorithm and no
category is a cache hit answering exactly what was stored:

- :func:`refresh_lists` computes each list afresh and overwrites its cache
  entry (precompute: the lists changed);
- :func:`warm_lists` serves each list once, leaving a still-valid entry as
  it is (cache warm: only the cold ones cost a scoring);
- :func:`users_in_segments` picks the active users of the bandit's activity
  segments (``new``, ``casual``, ``engaged``; ``agora.recommend.bandit``).

``smart`` is refused: its list is a Thompson draw recorded as a serving the
bandit is rewarded on, and a list nobody was shown would count as ignored.

Example:
    >>> warm_lists(platform.recommendations, ["u-1"], ["hybrid"], 10)  # doctest: +SKIP
    {'lists': 1, 'cold': 1, 'fallbacks': 0}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from agora.errors import InvalidInput
from agora.recommend.bandit import segment_of
from agora.recommend.data import user_history
from agora.recommend.jobs import active_users
from agora.recommend.list_cache import list_key
from agora.recommend.names import served_algorithm

if TYPE_CHECKING:
    from agora.config import FeatureSettings, RecommendSettings
    from agora.recommend.service import RecommendationService
    from agora.storage.database import Database

SEGMENTS: tuple[str, ...] = ("new", "casual", "engaged")
"""The bandit's activity segments (``agora.recommend.bandit.segment_of``)."""
DEFAULT_ALGORITHMS: tuple[str, ...] = ("hybrid",)
"""What is warmed when no algorithm is named: the platform's best list."""

Progress = Callable[[float], None]
"""Fraction done, 0-1."""


def warm_algorithms(names: Sequence[str] | None) -> list[str]:
    """The Agora algorithms to warm for ``names`` (seed names mapped; 422 for
    ``smart`` or an unknown name, 409 for a model not installed)."""
    out: list[str] = []
    for name in names or DEFAULT_ALGORITHMS:
        algorithm = served_algorithm(name)
        if algorithm == "smart":
            raise InvalidInput("'smart' cannot be precomputed: its lists are per-request draws")
        if algorithm not in out:
            out.append(algorithm)
    return out


def users_in_segments(
    db: Database,
    recommend: RecommendSettings,
    features: FeatureSettings,
    segments: Sequence[str] | None,
) -> list[str]:
    """Active users (``recommend.active_*``), only those of ``segments`` when given."""
    unknown = set(segments or ()) - set(SEGMENTS)
    if unknown:
        raise InvalidInput(f"unknown segments {sorted(unknown)}; known: {list(SEGMENTS)}")
    users = active_users(db, recommend)
    if not segments:
        return users
    wanted = set(segments)
    f = features
    return [
        u
        for u in users
        if segment_of(
            user_history(
                db, u, weights=f.affinity_weights, half_life_s=f.affinity_half_life_s
            ).n_events
        )
        in wanted
    ]


def refresh_lists(
    service: RecommendationService,
    users: Sequence[str],
    algorithms: Sequence[str],
    n: int,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Compute every (user, algorithm) list afresh and store it in the cache."""
    return _serve(service, users, algorithms, n, progress, fresh=True)


def warm_lists(
    service: RecommendationService,
    users: Sequence[str],
    algorithms: Sequence[str],
    n: int,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Serve every (user, algorithm) list once through the cache (cold ones are computed)."""
    return _serve(service, users, algorithms, n, progress, fresh=False)


def _serve(
    service: RecommendationService,
    users: Sequence[str],
    algorithms: Sequence[str],
    n: int,
    progress: Progress | None,
    *,
    fresh: bool,
) -> dict[str, int]:
    total = len(users) * len(algorithms)
    lists = cold = fallbacks = 0
    for k, user in enumerate(users):
        for algorithm in algorithms:
            recs = service.recommend(user, n, algorithm=algorithm, use_cache=not fresh)
            if fresh:
                service.lists.store(list_key(user, algorithm, None, n), recs)
            cold += int(fresh or not recs.cached)
            fallbacks += int(recs.fallback)
            lists += 1
        if progress is not None and total:
            progress((k + 1) * len(algorithms) / total)
    return {"lists": lists, "cold": cold, "fallbacks": fallbacks}
