"""Composition root: builds every backend from settings, once, at the entry point.

``Platform`` holds the constructed backends and is passed to the API app, the
worker and the CLI. It owns no behaviour of its own: capabilities live in
their packages and receive only what they use.

Example:
    >>> platform = Platform.build(Settings.load(data_dir="/tmp/agora-doc"))  # doctest: +SKIP
    >>> platform.close()  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from agora.blobs import create_blob_store
from agora.blobs.base import BlobStore
from agora.bus import create_bus
from agora.bus.base import EventBus
from agora.config import Settings
from agora.governance.audit import AuditLog
from agora.governance.consent import ConsentRegistry
from agora.mlops import create_model_store
from agora.mlops.base import ModelStore
from agora.security.keys import ApiKeyStore
from agora.storage import migrate
from agora.storage.database import Database
from agora.storage.jobs import JobStore

if TYPE_CHECKING:
    from agora.mlops.canary import CanaryMonitor, CanaryRouter
    from agora.mlops.registry import ModelRegistry

if TYPE_CHECKING:
    from agora.features.overrides import OverrideStore
    from agora.features.service import FeatureStore
    from agora.ranking.service import RankingService
    from agora.recommend.service import RecommendationService
    from agora.search.service import HybridSearch


@dataclass
class Platform:
    """Constructed backends for one process."""

    settings: Settings
    db: Database
    bus: EventBus
    blobs: BlobStore

    @classmethod
    def build(cls, settings: Settings, *, run_migrations: bool = True) -> Platform:
        """Open every backend named by ``settings``; migrate the catalog schema."""
        db = Database.open(
            settings.catalog.url, pool_size=settings.catalog.pool_size, echo=settings.catalog.echo
        )
        if run_migrations:
            migrate.upgrade(db)
        return cls(
            settings=settings, db=db, bus=create_bus(settings), blobs=create_blob_store(settings)
        )

    @cached_property
    def jobs(self) -> JobStore:
        return JobStore(self.db)

    @cached_property
    def keys(self) -> ApiKeyStore:
        return ApiKeyStore(self.db, self.audit)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.db)

    @cached_property
    def consent(self) -> ConsentRegistry:
        return ConsentRegistry(
            self.db, self.audit, forbid_cloud=self.settings.enterprise_forbid_cloud
        )

    @cached_property
    def models(self) -> ModelStore:
        # MLflow import is slow (~2 s); only processes that use models pay it.
        return create_model_store(self.settings)

    @cached_property
    def model_registry(self) -> ModelRegistry:
        """Champion/challenger workflow and promotion history (``agora.mlops.registry``)."""
        from agora.mlops.registry import ModelRegistry

        return ModelRegistry(self.models, self.db)

    @cached_property
    def serving(self) -> CanaryRouter:
        """``platform.serving.serving_version(model, user_id)``: champion or canary challenger."""
        from agora.mlops.canary import CanaryRouter

        return CanaryRouter(self.model_registry, self.settings.mlops.canary_share)

    @cached_property
    def canary_monitor(self) -> CanaryMonitor:
        """Per-version requests, errors, latency and CTR of this process."""
        from agora.mlops.canary import CanaryMonitor

        return CanaryMonitor(self.db)

    @cached_property
    def overrides(self) -> OverrideStore:
        from agora.features.overrides import OverrideStore

        return OverrideStore(self)

    @cached_property
    def features(self) -> FeatureStore:
        from agora.features.service import FeatureStore

        return FeatureStore.from_settings(self.settings, self.overrides)

    @cached_property
    def search(self) -> HybridSearch:
        # Encoders and indexes open lazily on first query (agora.search.backends).
        from agora.search import open_search

        return open_search(self.settings, self.db, overrides=self.overrides)

    @cached_property
    def recommendations(self) -> RecommendationService:
        """Recommendation serving: models, trending, cache, bandit (``agora.recommend``)."""
        from agora.recommend.service import RecommendationService

        return RecommendationService(self)

    @cached_property
    def ranking(self) -> RankingService:
        """Ranked feed and search: the six-stage pipeline (``agora.ranking``)."""
        from agora.ranking.service import RankingService

        return RankingService(self)

    def close(self) -> None:
        """Release connections (after writing what is buffered)."""
        if "recommendations" in self.__dict__:
            self.recommendations.canary_log.close()
        if "ranking" in self.__dict__:
            self.ranking.close()
        if "search" in self.__dict__:
            self.search.close()
        if "features" in self.__dict__:
            self.features.close()
        self.bus.close()
        self.db.dispose()
