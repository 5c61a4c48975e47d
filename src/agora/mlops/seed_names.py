"""Seed 003's names for Agora's tasks and schedules (``/api/v1/ai-pipelines``).

Seed 003 schedules its functions by name (``warm_cache``, every 30 min;
``precompute_recommendations``, every 2 h; ``update_trending``, hourly) with
APScheduler-style triggers (``trigger="interval", minutes=30``, or a cron
expression), and names its pipeline types ``recommendation-precompute`` and
``cache-warm``. These map onto Agora's task names and its schedule strings,
so one scheduler and one queue serve both APIs.

Example:
    >>> task_name("warm_cache"), task_name("train.ctr")
    ('cache_warm', 'train.ctr')
    >>> schedule_of("interval", minutes=30), schedule_of("interval", hours=1.5)
    ('every 30m', 'every 1.5h')
    >>> schedule_of("cron", cron="0 3 * * *")
    '0 3 * * *'
"""

from __future__ import annotations

from agora.errors import InvalidInput

SEED_TASKS: dict[str, str] = {
    "warm_cache": "cache_warm",
    "precompute_recommendations": "recommend_precompute",
    "update_trending": "trending",
    "recommendation-precompute": "recommend_precompute",
    "cache-warm": "cache_warm",
}
"""Seed 003's function and pipeline-type names -> Agora task names."""


def task_name(name: str) -> str:
    """The Agora task a seed name stands for (any other name is returned as is)."""
    return SEED_TASKS.get(name, name)


def _number(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def schedule_of(
    trigger: str,
    *,
    minutes: float | None = None,
    hours: float | None = None,
    cron: str | None = None,
) -> str:
    """The schedule string (``every Nm|Nh`` or the cron expression) of a seed trigger;
    ``InvalidInput`` when the fields do not fit the trigger."""
    if trigger == "interval":
        if cron is not None or (minutes is None) == (hours is None):
            raise InvalidInput("an interval trigger takes exactly one of minutes or hours")
        for value, unit in ((minutes, "m"), (hours, "h")):
            if value is not None:
                if value <= 0:
                    raise InvalidInput("an interval must be positive")
                return f"every {_number(value)}{unit}"
    if trigger == "cron":
        if cron is None or minutes is not None or hours is not None:
            raise InvalidInput("a cron trigger takes cron (and no minutes or hours)")
        return cron
    raise InvalidInput(f"trigger must be 'interval' or 'cron', not {trigger!r}")
