"""Ranking service: the pipeline wired to the platform's catalog, stores and models.

Models are the model store's ``ranking-pctr`` / ``ranking-pcvr`` /
``ranking-lambdamart``, resolved per request by the MLOps canary router
(``platform.serving``): the champion, or the challenger for the canary share of
users (``agora.ranking.versions``); their latest version while no champion is
set. Each request is reported to ``platform.canary_monitor`` per version
(latency, errors, impressions; clicks come from ``agora.ranking.attribution``)
and the response names the versions and their roles (``serving``). Without a
trained pCTR model the pipeline serves popularity weights and says so
(``no_model_popularity_weights``).

Example:
    >>> ranked = platform.ranking.feed("u1", explain=True)  # doctest: +SKIP
    >>> ranked.to_dict()["models"]  # doctest: +SKIP
    {'recommender': 'reco-hybrid@3', 'pctr': 'ranking-pctr@2', 'fraud': 'fraud-rules@1'}
    >>> ranked.to_dict()["serving"]["ranking-pctr"]  # doctest: +SKIP
    {'version': '2', 'role': 'champion'}
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from agora.errors import InvalidInput
from agora.ops.fallbacks import count_fallback
from agora.ranking.base import RankedList, RankRequest
from agora.ranking.feature_log import FeatureLog
from agora.ranking.pipeline import RankingPipeline
from agora.ranking.scoring import Scorer
from agora.ranking.versions import ModelVersions, Resolution

if TYPE_CHECKING:
    from agora.config import RankingSettings
    from agora.mlops.canary import CanaryMonitor

MAX_QUERY_CHARS = 1000
MAX_N = 100


class RankingService:
    """Feed and ranked search for the API and CLI."""

    def __init__(
        self,
        settings: RankingSettings,
        pipeline: RankingPipeline,
        feature_log: FeatureLog,
        monitor: CanaryMonitor,
        versions: ModelVersions | None = None,
    ) -> None:
        """``versions`` resolve each request's model versions (canary) and are reported
        to ``monitor``; without them (benchmarks) the pipeline's own scorer is kept.
        ``feature_log`` records what was served, for training."""
        self.settings = settings
        self.pipeline = pipeline
        self.feature_log = feature_log
        self.monitor = monitor
        self.versions = versions

    def reload_models(self) -> Scorer | None:
        """Forget loaded versions; returns the scorer an anonymous request gets now."""
        if self.versions is None:
            return self.pipeline.scorer
        self.versions.clear()
        return self.versions.resolve(None).scorer

    def rank(self, request: RankRequest) -> RankedList:
        """Run the pipeline for a validated request with the canary's model versions."""
        if not 1 <= request.n <= MAX_N:
            raise InvalidInput(f"n must be between 1 and {MAX_N}")
        if request.query is not None and not (0 < len(request.query.strip()) <= MAX_QUERY_CHARS):
            raise InvalidInput(f"q must be 1 to {MAX_QUERY_CHARS} characters")
        if request.max_distance_km is not None and not request.max_distance_km > 0:
            raise InvalidInput("max_distance_km must be positive")
        if self.versions is None:  # a pre-built pipeline (benchmarks) keeps its scorer
            return self.pipeline.rank(request)
        started = time.perf_counter()
        resolved = self.versions.resolve(request.user_id)
        ranked = self.pipeline.rank(request, scorer=resolved.scorer)
        self._report(ranked, resolved, time.perf_counter() - started)
        return ranked

    def _report(self, ranked: RankedList, resolved: Resolution, latency_s: float) -> None:
        """Name the versions in the response; per-version requests, errors, impressions."""
        ranked.serving = resolved.serving()
        for kind in resolved.fallbacks:
            ranked.fallbacks.append(kind)
            count_fallback(kind)
        monitor = self.monitor
        for refusal in resolved.refused:  # the version was chosen and could not serve
            monitor.record_request(refusal.ref, latency_s, error=True)
        failed = set(ranked.model_errors)
        used = set(ranked.models.values())  # absent when features were slow or time ran out
        for choice in resolved.choices.values():
            monitor.record_request(choice.ref, latency_s, error=str(choice.ref) in failed)
            if str(choice.ref) in used:
                monitor.record_outcome(choice.ref, impressions=ranked.organic)

    def feed(self, user_id: str, **kwargs: Any) -> RankedList:
        """The "For You" feed of ``user_id``."""
        return self.rank(RankRequest(user_id=user_id, **kwargs))

    def search(self, query: str, *, user_id: str | None = None, **kwargs: Any) -> RankedList:
        """Ranked search results for ``query`` (personalised when ``user_id`` is given)."""
        return self.rank(RankRequest(user_id=user_id, query=query, **kwargs))

    def close(self) -> None:
        self.pipeline.close()
