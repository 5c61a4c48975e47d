"""The platform-health alert rules ``alert_check`` evaluates beside the fallback rate:
server error rate per route, queue backlog per consumer group, failed tasks.

Each returns the :class:`~agora.mlops.alert_store.Condition` list it found
firing and the subjects it could evaluate, for ``AlertStore.report``: a subject
evaluated and not firing resolves its open alert; one that could not be
evaluated (no traffic, a bus that did not answer) keeps its alert as it was.

* ``error_rate``: share of responses with a 5xx status per API route since the
  previous check (4xx are the client's errors, not the platform's), read from
  ``agora_http_request_duration_seconds`` like the overview; routes with fewer
  than ``min_requests`` requests in the period are not judged.
* ``queue_backlog``: events a consumer group has not acked (``bus.depth``) above
  ``mlops.alert_queue_depth``.
* ``job_failed``: the latest finished run of a task (training, checks,
  precomputes: the orchestrator's ``task:`` jobs) failed; its next success resolves it.

Example:
    >>> firing, checked = backlog_conditions(platform.bus, 1000)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from agora.mlops.alert_store import Condition
from agora.mlops.orchestrator import KIND_PREFIX
from agora.ops.metrics import metrics_registry
from agora.ops.queues import watched_queues

if TYPE_CHECKING:
    from agora.bus.base import EventBus
    from agora.mlops.alert_store import AlertStore
    from agora.storage.jobs import JobStore

log = logging.getLogger(__name__)
_LATENCY_COUNT = "agora_http_request_duration_seconds_count"
RECENT_JOBS = 500  # finished tasks looked at per check (newest first)


@dataclass
class ErrorRate:
    """5xx share per route since the previous ``read`` (per process, like ``FallbackRate``)."""

    registry: CollectorRegistry | None = None
    _last: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)

    def _totals(self) -> dict[tuple[str, str], tuple[float, float]]:
        requests: dict[tuple[str, str], float] = defaultdict(float)
        errors: dict[tuple[str, str], float] = defaultdict(float)
        registry = self.registry if self.registry is not None else metrics_registry()
        for family in registry.collect():
            for sample in family.samples:
                if sample.name != _LATENCY_COUNT:
                    continue
                key = (sample.labels.get("method", ""), sample.labels.get("route", ""))
                if key[1].startswith(("/console", "/static")):
                    continue
                requests[key] += sample.value
                if sample.labels.get("status", "")[:1] == "5":
                    errors[key] += sample.value
        return {k: (n, errors[k]) for k, n in requests.items()}

    def read(self) -> dict[tuple[str, str], tuple[float, float]]:
        """(method, route) -> (requests, 5xx responses) since the previous read."""
        totals = self._totals()
        last, self._last = self._last, totals
        moved: dict[tuple[str, str], tuple[float, float]] = {}
        for key, (n, bad) in totals.items():
            n0, bad0 = last.get(key, (0.0, 0.0))
            # A counter below its last value was reset (a restart): all of it is new.
            delta = (n - n0, bad - bad0) if n >= n0 and bad >= bad0 else (n, bad)
            if delta[0] > 0:
                moved[key] = delta
        return moved


def error_rate_conditions(
    reader: ErrorRate, limit: float, min_requests: int
) -> tuple[list[Condition], list[str]]:
    """Routes whose 5xx share since the previous check exceeds ``limit``."""
    firing: list[Condition] = []
    checked: list[str] = []
    for (method, route), (n, bad) in sorted(reader.read().items()):
        if n < min_requests:
            continue
        subject = f"{method} {route}"
        checked.append(subject)
        rate = bad / n
        if rate > limit:
            firing.append(
                Condition(
                    subject,
                    "error",
                    f"{rate:.1%} of {n:.0f} requests to {subject} answered 5xx (limit {limit:.0%})",
                    value=rate,
                    threshold=limit,
                    details={"requests": int(n), "server_errors": int(bad)},
                )
            )
    return firing, checked


def backlog_conditions(bus: EventBus, limit: int) -> tuple[list[Condition], list[str]]:
    """Consumer groups with more than ``limit`` events waiting."""
    firing: list[Condition] = []
    checked: list[str] = []
    for topic, group in watched_queues():
        subject = f"{topic}/{group}"
        try:
            depth = bus.depth(topic, group)
        except Exception:
            log.warning("queue depth of %s unavailable", subject, exc_info=True)
            continue
        checked.append(subject)
        if depth > limit:
            firing.append(
                Condition(
                    subject,
                    "warning",
                    f"{depth} events waiting for {group} on {topic} (limit {limit})",
                    value=float(depth),
                    threshold=float(limit),
                    details={"topic": topic, "group": group},
                )
            )
    return firing, checked


def failed_task_conditions(jobs: JobStore) -> tuple[list[Condition], list[str]]:
    """Tasks whose latest finished run failed."""
    latest: dict[str, dict[str, object]] = {}
    for job in jobs.list(limit=RECENT_JOBS):  # newest first
        kind = str(job["kind"])
        if kind.startswith(KIND_PREFIX) and job["status"] in ("succeeded", "failed"):
            latest.setdefault(kind.removeprefix(KIND_PREFIX), job)
    firing = [
        Condition(
            task,
            "error",
            f"the last run of {task} failed: {str(job.get('error') or 'no error recorded')[:300]}",
            details={"job_id": job["id"], "finished_at": job.get("finished_at")},
        )
        for task, job in sorted(latest.items())
        if job["status"] == "failed"
    ]
    return firing, sorted(latest)


def alert_on_platform_health(
    reader: ErrorRate,
    bus: EventBus,
    jobs: JobStore,
    alerts: AlertStore,
    *,
    error_rate: float,
    queue_depth: int,
    min_requests: int,
) -> dict[str, dict[str, list[int]]]:
    """Evaluate the three rules and report each to ``alerts``; the alert ids touched."""
    out: dict[str, dict[str, list[int]]] = {}
    for kind, (firing, checked) in (
        ("error_rate", error_rate_conditions(reader, error_rate, min_requests)),
        ("queue_backlog", backlog_conditions(bus, queue_depth)),
        ("job_failed", failed_task_conditions(jobs)),
    ):
        out[kind] = alerts.report(kind, firing, checked=checked).to_dict()
    return out
