"""Traffic figures for the overview, read from this process's Prometheus metrics.

Requests, error share and p95 latency per route come from
``agora_http_request_duration_seconds`` (p95 interpolated inside the histogram
bucket, as Prometheus's ``histogram_quantile`` does); fallbacks by kind from
``agora_fallbacks_total``. With several API processes, ``metrics_registry``
aggregates their files, so the figures cover every worker.

Example:
    >>> rows = route_traffic()  # doctest: +SKIP
    >>> rows[0].route, rows[0].requests  # doctest: +SKIP
    ('/api/v1/search', 412)
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from agora.ops.metrics import metrics_registry

_LATENCY = "agora_http_request_duration_seconds"
_FALLBACKS = "agora_fallbacks_total"


@dataclass(frozen=True)
class RouteTraffic:
    """One route's figures since the process started."""

    method: str
    route: str
    requests: int
    errors: int
    p95_ms: float | None

    @property
    def error_rate(self) -> float:
        """Share of responses with a status of 400 or more."""
        return self.errors / self.requests if self.requests else 0.0


def _p95(buckets: dict[float, float]) -> float | None:
    """The 95th percentile from cumulative bucket counts (seconds)."""
    ordered = sorted(buckets.items())
    total = ordered[-1][1] if ordered else 0.0
    if total <= 0:
        return None
    rank, lower, below = 0.95 * total, 0.0, 0.0
    for bound, count in ordered:
        if count >= rank:
            if math.isinf(bound):
                return lower
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, count
    return lower


def route_traffic(limit: int = 30) -> list[RouteTraffic]:
    """Routes by request count, busiest first (console and static routes left out)."""
    counts: dict[tuple[str, str], float] = defaultdict(float)
    errors: dict[tuple[str, str], float] = defaultdict(float)
    buckets: dict[tuple[str, str], dict[float, float]] = defaultdict(lambda: defaultdict(float))
    for family in metrics_registry().collect():
        if family.name != _LATENCY:
            continue
        for sample in family.samples:
            labels = sample.labels
            key = (labels.get("method", ""), labels.get("route", ""))
            if key[1].startswith(("/console", "/static")):
                continue
            if sample.name.endswith("_count"):
                counts[key] += sample.value
                if labels.get("status", "0")[:1] in ("4", "5"):
                    errors[key] += sample.value
            elif sample.name.endswith("_bucket"):
                buckets[key][float(labels["le"])] += sample.value
    rows = [
        RouteTraffic(
            method,
            route,
            int(n),
            int(errors[(method, route)]),
            None if (p := _p95(buckets[(method, route)])) is None else p * 1000,
        )
        for (method, route), n in counts.items()
    ]
    return sorted(rows, key=lambda r: -r.requests)[:limit]


def fallbacks_by_kind() -> dict[str, int]:
    """Fallbacks taken since the process started, by kind."""
    out: dict[str, float] = defaultdict(float)
    for family in metrics_registry().collect():
        if family.name != _FALLBACKS.removesuffix("_total"):
            continue
        for sample in family.samples:
            if sample.name == _FALLBACKS:
                out[sample.labels.get("kind", "?")] += sample.value
    return {k: int(v) for k, v in sorted(out.items()) if v > 0}
