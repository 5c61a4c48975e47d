"""The canary's decision: per-version figures from ``canary_observations``, and the judge.

* ``version_stats``: a version's requests, errors, impressions, clicks and
  latency quantiles since the canary started, summed over every process's
  rows (written by ``CanaryMonitor`` and by settled outcomes).
* ``CanaryJudge``: rollback when the challenger's error rate or latency p95/p99
  passes the thresholds; promotion when the canary window has passed with
  enough requests and healthy figures (and, if configured, once both versions
  have enough impressions, a CTR no worse than a share of the champion's).

Example:
    >>> CanaryJudge(registry, settings.mlops).run()  # doctest: +SKIP
    [CanaryVerdict(model_name='ranking-pctr', action='wait', ...)]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from agora.config import MlopsSettings
from agora.mlops.registry import ModelRegistry
from agora.mlops.tables import CanaryObservationRow
from agora.ops.metrics import LATENCY_BUCKETS

ROLLBACK_MIN_REQUESTS = 20  # fewer requests than this say nothing about an error rate


@dataclass(frozen=True)
class VersionStats:
    """Serving figures of one version over a period."""

    version: str
    requests: int
    errors: int
    impressions: int
    clicks: int
    p95_ms: float | None
    p99_ms: float | None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def ctr(self) -> float | None:
        return self.clicks / self.impressions if self.impressions else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "impressions": self.impressions,
            "clicks": self.clicks,
            "ctr": self.ctr,
            "latency_p95_ms": self.p95_ms,
            "latency_p99_ms": self.p99_ms,
        }


def bucket_quantile(counts: list[int], q: float) -> float | None:
    """Quantile from histogram bucket counts, interpolated inside the bucket
    (Prometheus' ``histogram_quantile``); the overflow bucket reports its lower bound."""
    total = sum(counts)
    if total == 0:
        return None
    rank = q * total
    seen = 0.0
    for i, count in enumerate(counts):
        if count and seen + count >= rank:
            if i >= len(LATENCY_BUCKETS):
                return float(LATENCY_BUCKETS[-1])
            low = 0.0 if i == 0 else LATENCY_BUCKETS[i - 1]
            return float(low + (LATENCY_BUCKETS[i] - low) * (rank - seen) / count)
        seen += count
    return float(LATENCY_BUCKETS[-1])


def version_stats(db: Any, model_name: str, version: str, since: datetime | None) -> VersionStats:
    """Sum a version's observation rows since ``since``."""
    with db.session() as s:
        q = select(CanaryObservationRow).where(
            CanaryObservationRow.model_name == model_name,
            CanaryObservationRow.version == version,
        )
        if since is not None:
            q = q.where(CanaryObservationRow.at >= since)
        rows = list(s.scalars(q))
    buckets = [0] * (len(LATENCY_BUCKETS) + 1)
    for r in rows:
        for i, c in enumerate(r.latency_counts[: len(buckets)]):
            buckets[i] += int(c)
    p95, p99 = bucket_quantile(buckets, 0.95), bucket_quantile(buckets, 0.99)
    return VersionStats(
        version,
        sum(r.requests for r in rows),
        sum(r.errors for r in rows),
        sum(r.impressions for r in rows),
        sum(r.clicks for r in rows),
        None if p95 is None else p95 * 1000,
        None if p99 is None else p99 * 1000,
    )


@dataclass(frozen=True)
class CanaryVerdict:
    model_name: str
    action: str  # none | wait | promote | rollback
    reason: str
    challenger: VersionStats | None = None
    champion: VersionStats | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "action": self.action,
            "reason": self.reason,
            "challenger": self.challenger.to_dict() if self.challenger else None,
            "champion": self.champion.to_dict() if self.champion else None,
        }


class CanaryJudge:
    """Decide, and optionally apply, the fate of each running canary."""

    def __init__(self, registry: ModelRegistry, settings: MlopsSettings) -> None:
        self.registry = registry
        self.settings = settings

    def judge(self, model_name: str, now: datetime | None = None) -> CanaryVerdict:
        now = now or datetime.now(UTC)
        dep = self.registry.deployment(model_name)
        if dep.challenger is None or dep.champion is None:
            return CanaryVerdict(model_name, "none", "no canary running")
        cfg = self.settings
        since = dep.canary_started_at
        ch = version_stats(self.registry.db, model_name, dep.challenger, since)
        champ = version_stats(self.registry.db, model_name, dep.champion, since)
        problems = []
        if ch.requests >= ROLLBACK_MIN_REQUESTS:
            if ch.error_rate > cfg.canary_max_error_rate:
                problems.append(f"error rate {ch.error_rate:.1%} > {cfg.canary_max_error_rate:.1%}")
            if ch.p95_ms is not None and ch.p95_ms > cfg.canary_max_p95_ms:
                problems.append(f"latency p95 {ch.p95_ms:.0f} ms > {cfg.canary_max_p95_ms:.0f} ms")
            if ch.p99_ms is not None and ch.p99_ms > cfg.canary_max_p99_ms:
                problems.append(f"latency p99 {ch.p99_ms:.0f} ms > {cfg.canary_max_p99_ms:.0f} ms")
        if problems:
            return CanaryVerdict(model_name, "rollback", "; ".join(problems), ch, champ)
        elapsed = (now - since).total_seconds() if since else 0.0
        if elapsed < cfg.canary_window_s:
            return CanaryVerdict(
                model_name,
                "wait",
                f"canary window {elapsed:.0f}/{cfg.canary_window_s:.0f} s",
                ch,
                champ,
            )
        if ch.requests < cfg.canary_min_requests:
            return CanaryVerdict(
                model_name, "wait", f"{ch.requests}/{cfg.canary_min_requests} requests", ch, champ
            )
        seen, need = min(ch.impressions, champ.impressions), cfg.canary_min_impressions
        judge_ctr = cfg.canary_min_ctr_ratio > 0 and seen >= need
        # Rare outcomes (reviews, decisions) may never reach ``need``: then health alone.
        waited = elapsed >= cfg.canary_window_s + cfg.canary_ctr_wait_s
        if cfg.canary_min_ctr_ratio > 0 and not judge_ctr and not waited:
            reason = f"{seen}/{need} impressions for the CTR floor"
            return CanaryVerdict(model_name, "wait", reason, ch, champ)
        ctr_floor = cfg.canary_min_ctr_ratio * (champ.ctr or 0.0)
        if judge_ctr and ch.ctr is not None and ch.ctr < ctr_floor:
            reason = (
                f"online CTR {ch.ctr:.4f} < {ctr_floor:.4f} ({cfg.canary_min_ctr_ratio} x champion)"
            )
            return CanaryVerdict(model_name, "rollback", reason, ch, champ)
        return CanaryVerdict(
            model_name,
            "promote",
            f"healthy for {elapsed:.0f} s over {ch.requests} requests "
            f"(error rate {ch.error_rate:.2%}, p95 {ch.p95_ms or 0:.0f} ms)"
            + ("" if judge_ctr or not cfg.canary_min_ctr_ratio else f"; CTR not judged ({seen})"),
            ch,
            champ,
        )

    def apply(self, verdict: CanaryVerdict, *, actor: str = "canary") -> CanaryVerdict:
        """Carry out a promote/rollback verdict (history metrics: both versions' figures)."""
        metrics = {
            "challenger": verdict.challenger.to_dict() if verdict.challenger else None,
            "champion": verdict.champion.to_dict() if verdict.champion else None,
        }
        if verdict.action == "promote":
            self.registry.promote(
                verdict.model_name, actor=actor, reason=f"canary: {verdict.reason}", metrics=metrics
            )
        elif verdict.action == "rollback":
            self.registry.abort_canary(
                verdict.model_name,
                actor=actor,
                reason=f"canary rollback: {verdict.reason}",
                metrics=metrics,
            )
        return verdict

    def run(self, now: datetime | None = None) -> list[CanaryVerdict]:
        """Judge and apply every running canary."""
        return [
            self.apply(self.judge(d.model_name, now))
            for d in self.registry.deployments()
            if d.challenger is not None
        ]
