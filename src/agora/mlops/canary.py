"""Canary rollout: which version serves a user, per-version serving figures,
and the automatic promote/rollback decision.

* ``CanaryRouter.serving_version(model, user_id)``: the challenger for a
  deterministic share of users (``blake2b(model:challenger_version:user_id)``
  as a number in [0, 1) below the share), the champion for everyone else. The
  hash is salted with the challenger's version so successive canaries do not
  always land on the same users. One primary-key read of ``model_deployments``
  per call, no cache: a rollback takes effect on the next request, in every
  process.
* ``CanaryMonitor``: each serving process records requests, errors, latency
  and impressions/clicks per model version (Prometheus metrics at once, and
  rows in ``canary_observations`` on ``flush``), so decisions see every process.
* ``CanaryJudge``: rollback when the challenger's error rate or latency p95/p99
  passes the thresholds; promotion when the canary window has passed with
  enough requests and healthy figures (and, if configured, once both versions
  have enough impressions, a CTR no worse than a share of the champion's).

Example:
    >>> router = CanaryRouter(registry, default_share=0.05)  # doctest: +SKIP
    >>> choice = router.serving_version("ranking-pctr", "user-17")  # doctest: +SKIP
    >>> str(choice.ref), choice.role  # doctest: +SKIP
    ('ranking-pctr@3', 'champion')
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import select

from agora.config import MlopsSettings
from agora.domain import ModelRef
from agora.errors import NotFound
from agora.mlops.registry import Deployment, ModelRegistry
from agora.mlops.tables import CanaryObservationRow
from agora.ops.metrics import (
    LATENCY_BUCKETS,
    MODEL_CLICKS,
    MODEL_IMPRESSIONS,
    MODEL_LATENCY,
    MODEL_REQUESTS,
)

log = logging.getLogger(__name__)

CHAMPION_ROLE, CHALLENGER_ROLE = "champion", "challenger"
ROLLBACK_MIN_REQUESTS = 20  # fewer requests than this say nothing about an error rate


def canary_position(model_name: str, version: str, user_id: str) -> float:
    """The user's deterministic position in [0, 1) for one canary.

    >>> canary_position("m", "2", "u1") == canary_position("m", "2", "u1")
    True
    """
    digest = hashlib.blake2b(f"{model_name}:{version}:{user_id}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big") / 2.0**64


@dataclass(frozen=True)
class ServingChoice:
    """The version to serve for one request and why."""

    ref: ModelRef
    role: str  # champion | challenger
    champion: str | None = None  # the champion's version (what a refused challenger falls to)

    def to_dict(self) -> dict[str, Any]:
        return {"model": str(self.ref), "version": self.ref.version, "role": self.role}


class CanaryRouter:
    """Resolve champion or challenger per user."""

    def __init__(self, registry: ModelRegistry, default_share: float = 0.05) -> None:
        self.registry = registry
        self.default_share = default_share

    def serving_version(self, model_name: str, user_id: str | None) -> ServingChoice:
        """Champion, or the challenger for users inside the canary share.

        Anonymous requests (no user id) always get the champion. ``NotFound``
        when the model has no champion.
        """
        choice = self.choose(self.registry.deployment(model_name), user_id)
        if choice is None:
            raise NotFound(f"model {model_name!r} has no champion")
        return choice

    def serving_versions(
        self, model_names: list[str], user_id: str | None
    ) -> dict[str, ServingChoice | None]:
        """``serving_version`` for several models in one catalog read (None: no champion).

        What a request that uses several models (pCTR, pCVR, ranker) calls.
        """
        deployments = self.registry.deployments_of(model_names)
        return {name: self.choose(deployments.get(name), user_id) for name in model_names}

    def serves_challenger(self, dep: Deployment | None, user_id: str | None) -> bool:
        """Whether ``user_id`` (a user, an asset, a text digest) is in ``dep``'s canary share."""
        choice = self.choose(dep, user_id)
        return choice is not None and choice.role == CHALLENGER_ROLE

    def compared(self, dep: Deployment | None, user_id: str | None) -> bool:
        """Whether ``user_id`` is in ``dep``'s canary comparison groups: the challenger's
        share and the champion's users right after it by canary position, as many
        (all the rest above a half). A path that logs outcomes (lists, for clicks
        later) logs only these: matched groups, at most twice the share of traffic.
        """
        if dep is None or dep.champion is None or dep.challenger is None or not user_id:
            return False
        share = self.default_share if dep.canary_share is None else dep.canary_share
        return canary_position(dep.model_name, dep.challenger, user_id) < min(2 * share, 1.0)

    def choose(self, dep: Deployment | None, user_id: str | None) -> ServingChoice | None:
        """The choice for one deployment row (None when it has no champion)."""
        if dep is None or dep.champion is None:
            return None
        name = dep.model_name
        if dep.challenger is not None and user_id:
            share = self.default_share if dep.canary_share is None else dep.canary_share
            if canary_position(name, dep.challenger, user_id) < share:
                return ServingChoice(ModelRef(name, dep.challenger), CHALLENGER_ROLE, dep.champion)
        return ServingChoice(ModelRef(name, dep.champion), CHAMPION_ROLE, dep.champion)


@dataclass
class _Tally:
    requests: int = 0
    errors: int = 0
    impressions: int = 0
    clicks: int = 0
    latency: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))


class CanaryMonitor:
    """Per-version serving figures of this process; ``flush`` persists them."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._tallies: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
        self._flushed = time.monotonic()

    def flush_if_due(self, every_s: float) -> None:
        """``flush`` when the last one is ``every_s`` seconds old.

        For serving paths that also run where the platform's flush thread does
        not (pipeline workers: tag heads, moderation). A failed write is logged
        and its figures are lost: the judge waits for more.
        """
        now = time.monotonic()
        if now - self._flushed < every_s:
            return
        self._flushed = now
        try:
            self.flush()
        except Exception:
            log.exception("canary figures not flushed")

    def record_request(self, ref: ModelRef, latency_s: float, *, error: bool = False) -> None:
        """One served request of ``ref`` (its model latency and whether it failed)."""
        outcome = "error" if error else "ok"
        MODEL_REQUESTS.labels(ref.name, ref.version, outcome).inc()
        MODEL_LATENCY.labels(ref.name, ref.version).observe(latency_s)
        bucket = int(np.searchsorted(LATENCY_BUCKETS, latency_s, side="left"))
        with self._lock:
            tally = self._tallies[(ref.name, ref.version)]
            tally.requests += 1
            tally.errors += int(error)
            tally.latency[bucket] += 1

    def record_outcome(self, ref: ModelRef, *, impressions: int = 0, clicks: int = 0) -> None:
        """Impressions and clicks of items the version ranked (online CTR)."""
        if impressions:
            MODEL_IMPRESSIONS.labels(ref.name, ref.version).inc(impressions)
        if clicks:
            MODEL_CLICKS.labels(ref.name, ref.version).inc(clicks)
        with self._lock:
            tally = self._tallies[(ref.name, ref.version)]
            tally.impressions += impressions
            tally.clicks += clicks

    def flush(self) -> int:
        """Write the tallies since the last flush as observation rows; returns rows."""
        with self._lock:
            tallies, self._tallies = self._tallies, defaultdict(_Tally)
        rows = [
            CanaryObservationRow(
                model_name=name,
                version=version,
                at=datetime.now(UTC),
                requests=t.requests,
                errors=t.errors,
                impressions=t.impressions,
                clicks=t.clicks,
                latency_counts=t.latency,
            )
            for (name, version), t in tallies.items()
        ]
        if rows:
            with self.db.session() as s:
                s.add_all(rows)
        return len(rows)


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
