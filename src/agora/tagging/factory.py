"""Builds the tagging service from settings, backends and the process's encoders
(``Platform.tagging`` builds the one the API, the worker and the pipeline step
of a process share).

Example:
    >>> svc = build_service(
    ...     settings, db, audit, consent, blobs, models,
    ...     encoders=Encoders(), extractor=TaggingFeatureExtractor(), bus=bus,
    ... )  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agora.tagging.cloud import CloudGate, HttpCloudTagger, RekognitionTagger
from agora.tagging.taxonomy import Taxonomy
from agora.tagging.taxonomy_store import TaxonomyStore, seed_document

if TYPE_CHECKING:
    from agora.blobs.base import BlobStore
    from agora.bus.base import EventBus
    from agora.config import Settings, TaggingSettings
    from agora.encoders.factory import Encoders
    from agora.governance.audit import AuditLog
    from agora.governance.consent import ConsentRegistry
    from agora.mlops.base import ModelStore
    from agora.storage.database import Database
    from agora.tagging.features import TaggingFeatureExtractor
    from agora.tagging.service import TaggingService


def taxonomy_for(cfg: TaggingSettings) -> Taxonomy:
    """The operator's taxonomy file, or the shipped one: what seeds the stored
    taxonomy's version 1 (serving reads :func:`taxonomy_store`)."""
    return Taxonomy.load(cfg.taxonomy_path) if cfg.taxonomy_path else Taxonomy.default()


def taxonomy_store(db: Database, cfg: TaggingSettings) -> TaxonomyStore:
    """The stored, versioned taxonomy (seeded from :func:`taxonomy_for`'s file on first use)."""
    return TaxonomyStore(db, lambda: seed_document(cfg.taxonomy_path))


def stored_taxonomy(db: Database, cfg: TaggingSettings) -> Taxonomy:
    """The stored taxonomy's newest version (what serving and training use)."""
    return taxonomy_store(db, cfg).current().taxonomy


def cloud_for(cfg: TaggingSettings, taxonomy: Taxonomy) -> CloudGate | None:
    """The configured cloud tagger behind its rate limit and retries (None: none configured)."""
    if not cfg.cloud_provider:
        return None
    tagger: HttpCloudTagger | RekognitionTagger
    if cfg.cloud_provider == "generic":
        if not cfg.cloud_url:
            raise ValueError("tagging.cloud_url is required for the generic cloud tagger")
        tagger = HttpCloudTagger(cfg.cloud_url, taxonomy, token=cfg.cloud_token or None)
    elif cfg.cloud_provider == "rekognition":
        import boto3
        from botocore.config import Config

        # Retries are CloudGate's job (within the request's time budget), not botocore's.
        client = boto3.client(
            "rekognition",
            region_name=cfg.rekognition_region,
            endpoint_url=cfg.rekognition_endpoint_url or None,
            config=Config(retries={"max_attempts": 1}, max_pool_connections=10),
        )
        tagger = RekognitionTagger(
            client, taxonomy, project_version_arn=cfg.rekognition_project_arn or None
        )
    else:
        raise ValueError(f"unknown tagging.cloud_provider {cfg.cloud_provider!r}")
    return CloudGate(
        tagger, rate_per_s=cfg.cloud_rate_per_s, burst=cfg.cloud_burst, attempts=cfg.cloud_attempts
    )


def build_service(
    settings: Settings,
    db: Database,
    audit: AuditLog,
    consent: ConsentRegistry,
    blobs: BlobStore,
    models: ModelStore,
    *,
    encoders: Encoders,
    extractor: TaggingFeatureExtractor,
    bus: EventBus | None = None,
) -> TaggingService:
    """A new service over these backends, with the process's ``encoders`` and
    tagging feature ``extractor``; ``bus`` announces the tag changes feedback
    writes back (the API's service has one)."""
    from agora.tagging.service import TaggingService

    cfg = settings.tagging
    profile = cfg.text_profile or settings.search.text_profile
    taxonomies = taxonomy_store(db, cfg)
    taxonomy = taxonomies.current().taxonomy
    return TaggingService(
        settings, db, audit, consent, blobs, models,
        text=encoders.text(profile),
        conse=encoders.conse(profile, cache_dir=settings.data_dir / "encoders"),
        extractor=extractor, taxonomies=taxonomies, cloud=cloud_for(cfg, taxonomy), bus=bus,
    )  # fmt: skip
