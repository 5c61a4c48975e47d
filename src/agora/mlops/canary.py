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
* ``CanaryJudge`` (:mod:`agora.mlops.canary_judge`) decides from those rows.

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
