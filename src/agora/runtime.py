"""Composition root: builds every backend from settings, once, at the entry point.

``Platform`` holds the constructed backends and is passed to the API app, the
worker and the CLI. It owns no behaviour of its own: capabilities live in
their packages and receive only what they use.

Example:
    >>> platform = Platform.build(Settings.load(data_dir="/tmp/agora-doc"))  # doctest: +SKIP
    >>> platform.close()  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
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
    from agora.catalog.assets import AssetService
    from agora.catalog.events import EventIngest
    from agora.catalog.import_sessions import ImportSessions
    from agora.catalog.imports import AssetImport
    from agora.catalog.people import PeopleService
    from agora.eligibility.view import CatalogView
    from agora.encoders.factory import Encoders
    from agora.features.consumer import StreamConsumer
    from agora.features.overrides import OverrideStore
    from agora.features.service import FeatureStore
    from agora.mlops.admission import TaskAdmission
    from agora.mlops.alerts import Alerting
    from agora.mlops.canary import CanaryMonitor, CanaryRouter
    from agora.mlops.orchestrator import Orchestrator
    from agora.mlops.registry import ModelRegistry
    from agora.mlops.scheduler import Scheduler
    from agora.mlops.tasks import TaskRegistry
    from agora.mlops.triggers import DriftSources
    from agora.moderation.provider import ModelProvider
    from agora.moderation.queue import ModerationQueue
    from agora.moderation.rescan import RescanDeps
    from agora.moderation.service import ModerationService
    from agora.pipeline.base import StepServices
    from agora.pipeline.runner import PipelineRunner
    from agora.ranking.attribution import AttributionConsumer
    from agora.ranking.service import RankingService
    from agora.recommend.service import RecommendationService
    from agora.search.backends import SearchBackends
    from agora.search.indexer import AssetIndexer
    from agora.search.service import HybridSearch
    from agora.tagging.features import TaggingFeatureExtractor
    from agora.tagging.service import TaggingService


@dataclass
class Platform:
    """Constructed backends for one process.

    Every service is an explicit lazy property: it is built on first use, over
    this platform's one connection pool, and registers how it closes (the
    ``_closing`` list, closed newest first), so ``close`` never guesses what
    was built.
    """

    settings: Settings
    db: Database
    bus: EventBus
    blobs: BlobStore
    _closing: list[Callable[[], None]] = field(default_factory=list, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

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

    def _closes(self, close: Callable[[], None]) -> None:
        with self._lock:
            self._closing.append(close)

    def built(self, name: str) -> bool:
        """Whether the lazy service ``name`` was built in this process (nothing is loaded)."""
        return name in vars(self)

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
    def assets(self) -> AssetService:
        """Asset create, read, update and removal (``agora.catalog.assets``)."""
        from agora.catalog.assets import AssetService

        return AssetService(self.db, self.audit, self.bus, self.blobs, self.settings.uploads)

    @cached_property
    def people(self) -> PeopleService:
        """Sellers and users (``agora.catalog.people``)."""
        from agora.catalog.people import PeopleService

        return PeopleService(self.db, self.audit)

    @cached_property
    def event_ingest(self) -> EventIngest:
        """Interaction events into the catalog and onto the bus (``agora.catalog.events``)."""
        from agora.catalog.events import EventIngest

        return EventIngest(self.db, self.bus)

    def asset_import(self) -> AssetImport:
        """A JSON-lines import of assets (one batch job per call of ``run``)."""
        from agora.catalog.imports import AssetImport

        return AssetImport(
            self.jobs, self.assets, max_metadata_bytes=self.settings.uploads.max_metadata_bytes
        )

    def import_sessions(self) -> ImportSessions:
        """Resumable imports by client-supplied import id, refused while the
        pipeline backlog is over ``uploads.import_max_backlog``
        (``agora.catalog.import_sessions``)."""
        from agora.bus.base import Topics
        from agora.catalog.import_sessions import ImportSessions
        from agora.pipeline.runner import PIPELINE_GROUP

        uploads = self.settings.uploads
        return ImportSessions(
            self.db,
            self.jobs,
            self.assets,
            self.bus,
            backlog=lambda: self.bus.depth(Topics.ASSET_UPLOADED, PIPELINE_GROUP),
            max_backlog=uploads.import_max_backlog,
            retry_after_s=uploads.import_retry_after_s,
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
    def alerting(self) -> Alerting:
        """One alert notifier (it de-duplicates) and fallback-rate reader per process."""
        from agora.mlops.alerts import Alerting, AlertNotifier, FallbackRate

        return Alerting(AlertNotifier(self.settings.mlops), FallbackRate())

    @cached_property
    def task_admission(self) -> TaskAdmission:
        """Whether this process takes new tasks (closed by an orchestrator shutdown),
        shared by every orchestrator below so one shutdown drains them all."""
        from agora.mlops.admission import TaskAdmission

        return TaskAdmission()

    def orchestrator(self, registry: TaskRegistry | None = None) -> Orchestrator[Platform]:
        """The task queue on this platform's jobs; its task functions receive this platform."""
        from agora.mlops.orchestrator import Orchestrator

        return Orchestrator(
            self, self.jobs, self.db, self.settings.mlops, registry, admission=self.task_admission
        )

    def scheduler(self, orchestrator: Orchestrator[Platform] | None = None) -> Scheduler[Platform]:
        """The periodic jobs, submitted to ``orchestrator`` (default: a new one)."""
        from agora.mlops.scheduler import Scheduler, default_jobs

        ml = self.settings.mlops
        return Scheduler(
            orchestrator or self.orchestrator(), self.db, self.jobs,
            defaults=default_jobs(ml, self.settings.recommend), tick_s=ml.scheduler_tick_s,
        )  # fmt: skip

    def drift_sources(self) -> DriftSources:
        """What drift measurement reads (``agora.mlops.triggers``); the served features
        buffered here are flushed only where ranking runs in this process."""
        from agora.mlops.triggers import DriftSources

        def flush_served() -> None:
            if self.built("ranking"):
                self.ranking.feature_log.flush()

        return DriftSources(
            self.db, self.settings.mlops, lambda: self.models, lambda: self.model_registry,
            flush_served,
        )  # fmt: skip

    @cached_property
    def overrides(self) -> OverrideStore:
        """Admin bans, boosts and pins (``agora.features.overrides``)."""
        from agora.features.overrides import OverrideStore

        return OverrideStore(self.db, self.audit, self.assets, self.people)

    @cached_property
    def features(self) -> FeatureStore:
        from agora.features.service import FeatureStore

        store = FeatureStore.from_settings(self.settings, self.overrides)
        self._closes(store.close)
        return store

    def stream_consumer(self, name: str) -> StreamConsumer:
        """A feature-store stream consumer (interactions into windows) named ``name``."""
        from agora.features.consumer import StreamConsumer

        return StreamConsumer(
            self.db, self.bus, self.features, self.overrides, self.settings, name=name
        )

    def attribution_consumer(self, name: str) -> AttributionConsumer:
        """Credits clicks to the ranking versions that served them (canary figures)."""
        from datetime import timedelta

        from agora.ranking.attribution import AttributionConsumer

        window = timedelta(seconds=self.settings.mlops.attribution_s)
        return AttributionConsumer(self.db, self.bus, self.canary_monitor, window=window, name=name)

    @cached_property
    def encoders(self) -> Encoders:
        """The served text and image encoders of this process (each model loads on
        first use): search, tagging and moderation encode with these."""
        from agora.encoders.factory import Encoders

        encoders = Encoders()
        self._closes(encoders.close)
        return encoders

    @cached_property
    def catalog_view(self) -> CatalogView:
        """The one in-memory view of the catalog's listings that search and the
        recommendation gate read (``agora.eligibility.view``)."""
        from agora.eligibility.view import CatalogView

        return CatalogView(self.db, max_age_s=self.settings.search.snapshot_max_age_s)

    @cached_property
    def search_backends(self) -> SearchBackends:
        """Encoders and indexes of search, opened lazily; shared by the API's search,
        the indexing step and the index consumers, so no index opens twice."""
        from agora.search.backends import SearchBackends

        backends = SearchBackends(self.settings, self.encoders)
        self._closes(backends.close)
        return backends

    @cached_property
    def indexer(self) -> AssetIndexer:
        """Writes assets into the search indexes (the index consumers, ``agora index``)."""
        from agora.search.indexer import AssetIndexer

        return AssetIndexer(self.search_backends, self.blobs)

    @cached_property
    def search(self) -> HybridSearch:
        # Encoders and indexes open lazily on first query (agora.search.backends).
        from agora.search import open_search

        # Closing the backends (registered with them) closes the service's indexes.
        return open_search(
            self.settings, self.db, self.search_backends, self.catalog_view,
            overrides=self.overrides,
        )  # fmt: skip

    @cached_property
    def moderation_models(self) -> ModelProvider:
        """The moderation text classifiers this process serves (refreshed from the store)."""
        from agora.moderation.provider import ModelProvider

        return ModelProvider(
            self.settings, lambda: self.models, self.db,
            encoders=self.encoders, train_first=self._train_moderation,
        )  # fmt: skip

    def _train_moderation(self) -> None:
        # The registry and training-run records live in the catalog: this platform's.
        from agora.mlops.training.tasks import train_classifier

        train_classifier(self, reason="first use", actor="moderation:first-use")

    @cached_property
    def moderation(self) -> ModerationService:
        """Text, image and asset moderation with the current models."""
        from agora.moderation.service import ModerationService

        service = ModerationService(self.settings, self.moderation_models, self.encoders)
        self._closes(service.close)
        return service

    @cached_property
    def moderation_queue(self) -> ModerationQueue:
        """The human review queue (decisions, appeals, feedback)."""
        from agora.moderation.queue import ModerationQueue

        return ModerationQueue(
            self.db, self.audit, self.bus, self.consent, self.overrides, self.canary_monitor
        )

    def rescan_deps(self) -> RescanDeps:
        """What a moderation rescan (``agora.moderation.rescan``) works with."""
        from agora.moderation.rescan import RescanDeps

        return RescanDeps(self.db, self.audit, self.blobs, self.moderation, self.moderation_queue)

    @cached_property
    def tag_features(self) -> TaggingFeatureExtractor:
        """The tagging feature extractor (EfficientNet-Lite0 with style statistics),
        loaded once for this process."""
        from agora.tagging.features import TaggingFeatureExtractor

        return TaggingFeatureExtractor()

    @cached_property
    def tagging(self) -> TaggingService:
        """Auto-tagging with this process's encoders (loaded on first use)."""
        from agora.tagging.factory import build_service

        return build_service(
            self.settings, self.db, self.audit, self.consent, self.blobs, self.models,
            encoders=self.encoders, extractor=self.tag_features, bus=self.bus,
        )  # fmt: skip

    @cached_property
    def recommendations(self) -> RecommendationService:
        """Recommendation serving: models, trending, cache, bandit (``agora.recommend``)."""
        from agora.recommend.served import ServedModels
        from agora.recommend.service import RecommendationService

        weights = self.settings.features.affinity_weights
        served = ServedModels(self.db, self.models, self.serving, self.settings.recommend, weights)
        service = RecommendationService(
            self.db, self.consent, self.canary_monitor, served,
            self.settings.recommend, self.settings.features, self.overrides,
            view=self.catalog_view,
        )  # fmt: skip
        self._closes(service.canary_log.close)
        return service

    @cached_property
    def ranking(self) -> RankingService:
        """Ranked feed and search: the six-stage pipeline (``agora.ranking``)."""
        from agora.ranking.catalog import CatalogSnapshot, SnapshotHolder, UserGeo
        from agora.ranking.feature_log import FeatureLog
        from agora.ranking.pipeline import RankingPipeline
        from agora.ranking.scoring import Weights
        from agora.ranking.service import RankingService
        from agora.ranking.versions import ModelVersions

        cfg, db = self.settings.ranking, self.db
        weights = Weights(cfg.w_ctr, cfg.w_cvr, cfg.w_trust, cfg.w_relevance)
        versions = ModelVersions(self.models, self.serving, mode=cfg.scorer, weights=weights)
        feature_log = FeatureLog(db)
        features = self.features
        pipeline = RankingPipeline(
            cfg,
            SnapshotHolder(lambda: CatalogSnapshot.load(db), refresh_s=cfg.catalog_refresh_s),
            scorer=None,
            search=self.search,
            recommender=self.recommendations,
            online=features.online,
            overrides=features.overrides,
            user_geo=UserGeo(db).of,
            feature_log=feature_log,
            half_life_s=self.settings.features.affinity_half_life_s,
        )
        service = RankingService(cfg, pipeline, feature_log, self.canary_monitor, versions)
        self._closes(service.close)
        return service

    def step_services(self) -> StepServices:
        """What pipeline steps are built with: lazy access to this platform's services."""
        from agora.pipeline.base import StepServices

        return StepServices(
            settings=self.settings,
            blobs=self.blobs,
            search_backends=lambda: self.search_backends,
            moderation=lambda: self.moderation,
            tagging=lambda: self.tagging,
            database=lambda: self.db,
        )

    def pipeline_runner(self) -> PipelineRunner:
        """The post-upload pipeline: the enabled steps, built with this platform's services."""
        from agora.pipeline.registry import discover_steps
        from agora.pipeline.runner import PipelineRunner

        steps = discover_steps(self.settings.pipeline, self.step_services())
        return PipelineRunner(
            steps, db=self.db, jobs=self.jobs, audit=self.audit, bus=self.bus,
            blobs=self.blobs, settings=self.settings,
        )  # fmt: skip

    def close(self) -> None:
        """Release connections (after writing what is buffered): every service built,
        newest first, then the bus and the one connection pool."""
        with self._lock:
            closing, self._closing = self._closing[::-1], []
        for close in closing:
            close()
        self.bus.close()
        self.db.dispose()
