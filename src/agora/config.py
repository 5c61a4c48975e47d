"""One validated settings tree for the whole platform.

Read once at the entry point (``Settings.load()``) from ``AGORA_*`` environment
variables (nested with ``__``, e.g. ``AGORA_BUS__URL``) and an optional
``agora.toml``, then passed down explicitly. Nothing below the entry point
reads ``os.environ``.

Example:
    >>> s = Settings(data_dir="/tmp/agora")
    >>> s.catalog.url.startswith("sqlite:///")
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class CatalogSettings(BaseModel):
    """Catalog and platform state: ``sqlite:///path`` or ``postgresql://...``."""

    url: str = ""
    pool_size: int = 5
    echo: bool = False


class BusSettings(BaseModel):
    """Event bus: ``memory://`` (durable SQLite outbox) or ``redis://host:port/db``."""

    url: str = "memory://"
    stream_prefix: str = "agora"
    max_attempts: int = 5
    backoff_base_s: float = 0.5
    backoff_max_s: float = 60.0
    # A delivery not acked within this time is handed to another consumer.
    visibility_timeout_s: float = 30.0
    max_stream_length: int = 1_000_000


class BlobSettings(BaseModel):
    """Blob store: ``file:///path`` (content-addressed folder)."""

    url: str = ""


class RegistrySettings(BaseModel):
    """Model store backed by MLflow: tracking URI and artifact location."""

    tracking_uri: str = ""
    artifact_root: str = ""


class UploadSettings(BaseModel):
    """Limits applied to every upload before anything is stored."""

    max_file_bytes: int = 50 * 1024 * 1024
    max_files: int = 20
    max_request_bytes: int = 200 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    max_archive_ratio: float = 100.0
    max_archive_uncompressed_bytes: int = 1024 * 1024 * 1024
    max_archive_entries: int = 10_000
    max_metadata_bytes: int = 64 * 1024
    max_batch_lines: int = 10_000
    max_events_per_request: int = 10_000


class SecuritySettings(BaseModel):
    """API keys, scopes and rate limits."""

    auth_enabled: bool = True
    rate_limit_per_minute: int = 6000
    rate_limit_burst: int = 1000
    # The landing page shows catalog counts and platform status without a key,
    # so a fresh `make run` opens a working page; turn off for public deployments.
    public_landing_page: bool = True


class WebhookSettings(BaseModel):
    """Outgoing webhook deliveries."""

    timeout_s: float = 5.0
    max_attempts: int = 8
    backoff_base_s: float = 1.0
    backoff_max_s: float = 300.0


class PipelineSettings(BaseModel):
    """Post-upload pipeline.

    Steps come from the ``agora.steps`` entry-point group; ``extra_steps`` adds
    steps by import path (``module:Class``) without packaging a plugin, and
    ``disabled_steps`` turns named steps off.
    """

    extra_steps: list[str] = Field(default_factory=list)
    disabled_steps: list[str] = Field(default_factory=list)
    consumers: int = 1
    # A queued pipeline job whose event never reached the bus (crash between the
    # catalog commit and the publish) is re-published after this many seconds.
    republish_after_s: float = 60.0


class ServerSettings(BaseModel):
    """API gateway process settings."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # With embedded backends the API process also runs the workers and the
    # scheduler, so one command is a whole platform.
    run_workers_in_process: bool = True
    log_json: bool = True
    log_level: str = "INFO"


# --- Capability sections. Each class body is owned by its capability. ---


class SearchSettings(BaseModel):
    """Encoders, indexes and retrieval (``agora.encoders``, ``agora.index``, ``agora.search``)."""

    # "minilm" (English, fast) or "e5" (multilingual-e5-small, slow).
    text_profile: str = "minilm"
    # Empty: embedded HNSW/BM25 files under data_dir; "postgresql://...": pgvector / FTS.
    vector_url: str = ""
    keyword_url: str = ""
    # Retrieval (agora.search). Fusion: "rrf" (weighted reciprocal-rank fusion)
    # or "convex" (weighted sum of min-max normalised scores). Weights per
    # retriever: keyword (BM25), text (text vectors), conse (image ConSE vectors),
    # image (image features, similar items). See README "Search" for the tuning.
    # Defaults chosen by benchmarks/search_quality.py on SciFact's *train* qrels
    # (convex 0.6 keyword / 0.4 text); on test: hybrid nDCG@10 0.736 vs 0.717 for
    # plain RRF with MiniLM.
    fusion: str = "convex"
    rrf_k: float = 60.0
    fusion_weights: dict[str, float] = Field(
        default_factory=lambda: {"keyword": 0.6, "text": 0.4, "conse": 0.3, "image": 1.0}
    )
    # Candidates per retriever at the first step of the pool; deeper pages ask
    # 4x as many, up to 2000, in fixed steps that only append to the hit order
    # (agora.search.pool), so the order never depends on offset or limit.
    candidates: int = 200
    # Relevance floor per retriever: rows scoring below it are not hits. Cosine
    # for "text" and "conse", BM25 for "keyword" (unset: any matching term),
    # none for "image". ``unmatched_floor`` is the stricter floor of dense rows
    # when no query word occurs in the catalog (gibberish). Unset (None): the
    # text profile's calibrated floors (agora.search.retrievers, chosen by
    # benchmarks/search_floor.py; minilm: text 0.09 / 0.48, conse 0.47 / 0.47).
    relevance_floor: dict[str, float] | None = None
    unmatched_floor: dict[str, float] | None = None
    # did_you_mean suggestions come from the words of visible assets' titles and
    # tags; the dictionary is rebuilt in the background once this old.
    vocabulary_max_age_s: float = 300.0
    # Filters matching at most this many assets are applied before the index search.
    prefilter_max: int = 5000
    # Candidates are filtered against an in-memory catalog snapshot; changes from
    # other processes reach it within this many seconds (agora.eligibility.view).
    snapshot_max_age_s: float = 5.0


class FeatureSettings(BaseModel):
    """Feature store (``agora.features``)."""

    # Empty: embedded memory-mapped store under data_dir; "redis://...": Redis.
    online_url: str = ""
    # Empty: Parquet under data_dir/offline.
    offline_dir: str = ""
    # Decay-weighted user-item affinities (seed 000): half-life and weight per event type
    # (view < favorite < add_to_cart < purchase; skips count against).
    affinity_half_life_s: float = 7 * 24 * 3600.0
    affinity_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "impression": 0.0,
            "view": 1.0,
            "click": 1.5,
            "favorite": 3.0,
            "add_to_cart": 5.0,
            "purchase": 10.0,
            "skip": 0.0,
        }
    )
    # Stream consumer: events per batch, and the offline log flush period.
    stream_batch: int = 1000
    offline_flush_s: float = 5.0
    # Initial rows per entity in the embedded store (it grows by doubling).
    embedded_capacity: int = 1024


class RecommendSettings(BaseModel):
    """Recommendations (``agora.recommend``)."""

    cache_ttl_s: float = 900.0
    precompute_every_s: float = 7200.0
    # The hybrid: "ltr" (LightGBM rankers over the components' candidates; 0.500
    # NDCG@10 on MovieLens-100k) or "blend" (z-score weights searched on
    # validation folds; 0.490, ~20x faster to fit). See the README.
    hybrid_reranker: Literal["blend", "ltr"] = "ltr"
    # Empty: in-process TTL cache; "redis://host:port/db[?prefix=...]": shared Redis cache.
    cache_url: str = ""
    # Trending: rolling window and decay half-life (hours); refreshed by the scheduler.
    trending_window_h: float = 48.0
    trending_half_life_h: float = 12.0
    trending_every_s: float = 3600.0
    # Users with at least this many events in the last ``active_days`` get precomputed lists.
    active_days: float = 7.0
    active_min_events: int = 3
    max_per_seller: int = 3
    # Cache hits are checked against an in-process catalog snapshot refreshed by a
    # delta read this often: a ban, sell-out or purchase reaches them within 2x this.
    catalog_recheck_s: float = 0.5
    ease_lambda: float = 300.0
    # > 0: Steck's DLAE (dropout-equivalent, popularity-scaled L2); 0: plain EASE.
    ease_dropout: float = 0.5
    # ALS: many factors with strong L2 and alpha 4 was the validation optimum on
    # MovieLens-100k (0.386 -> 0.488 NDCG@10 against 64 factors, L2 0.05).
    als_factors: int = 200
    als_regularization: float = 30.0
    als_alpha: float = 4.0
    # Only users whose consent allows model training contribute to collaborative models.
    train_requires_consent: bool = False


class RankingSettings(BaseModel):
    """Ranking pipeline (``agora.ranking``)."""

    deadline_ms: float = 200.0
    # Per-stage budgets (ms); a stage over budget is counted, hydration falls back.
    candidates_budget_ms: float = 60.0
    hydration_budget_ms: float = 100.0  # seed 001: feature store > 100 ms -> popularity
    max_candidates: int = 1000
    page_size: int = 20
    max_distance_km: float = 500.0
    # Scorer: "final_score" (w1*pCTR + w2*pCVR + w3*SellerTrust + Boost) or "lambdamart".
    scorer: str = "final_score"
    w_ctr: float = 1.0
    w_cvr: float = 2.0
    w_trust: float = 0.1
    # Without trained models (popularity weights): weight of the recall stage's
    # relevance in [0, 1] (search score relative to the best hit, recommender rank).
    w_relevance: float = 1.0
    # Ranked search: the model part of the score (all but the boost) is multiplied
    # by relevance ** this power, so a popular asset that barely matches the query
    # cannot outrank the ones that do (0: the models alone decide).
    search_relevance_power: float = 1.0
    model_alias: str = "champion"  # falls back to the latest version when unset
    max_same_seller_run: int = 3
    fraud_threshold: float = 0.7
    fraud_action: str = "remove"  # or "demote"
    sponsored_slots: list[int] = Field(default_factory=lambda: [4, 12])
    catalog_refresh_s: float = 30.0
    explain_top: int = 10
    log_served: bool = True


class MlopsSettings(BaseModel):
    """Training, gates, canary, drift, triggers, alerts, scheduler (``agora.mlops``)."""

    # Canary: share of users (deterministic hash of the user id) served by the challenger.
    canary_share: float = 0.05
    canary_window_s: float = 3600.0  # healthy for this long (and enough traffic) -> promote
    canary_min_requests: int = 200
    canary_max_error_rate: float = 0.02  # above it (or above the champion's + this) -> rollback
    canary_max_p95_ms: float = 200.0
    canary_max_p99_ms: float = 500.0
    canary_min_ctr_ratio: float = 0.0  # challenger CTR / champion CTR floor; 0 = not a gate
    # With a CTR floor, both versions need this many impressions before a verdict
    # (reco lists settle an hour after serving; a handful of them is noise), for at
    # most this long past the window (then the verdict is on health alone).
    canary_min_impressions: int = 500
    canary_ctr_wait_s: float = 86400.0
    canary_check_every_s: float = 300.0
    # Evaluation gate: the challenger must beat the champion by this margin on the holdout.
    gate_margin: float = 0.0
    # Training windows (seed 001: train on the last 28 days, test on the last 24 hours).
    train_window_days: float = 28.0
    holdout_hours: float = 24.0
    attribution_s: float = 3600.0  # click = 1 within this time after the impression
    # Continuous-training triggers (seed 001).
    retrain_new_interactions: int = 100_000
    retrain_psi: float = 0.2
    trigger_check_every_s: float = 900.0
    drift_check_every_s: float = 3600.0
    drift_window_hours: float = 24.0
    # Alerts: Slack incoming-webhook and PagerDuty Events v2 compatible JSON.
    alert_fallback_rate: float = 0.10
    alert_slack_url: str = ""
    alert_pagerduty_url: str = ""
    alert_pagerduty_routing_key: str = ""
    alert_generic_urls: list[str] = Field(default_factory=list)
    # Scheduler and orchestrator.
    scheduler_in_process: bool = True  # `agora serve` runs it with embedded backends
    scheduler_tick_s: float = 5.0
    orchestrator_concurrency: int = 2
    # Extra or overriding named tasks: name -> "module:function".
    tasks: dict[str, str] = Field(default_factory=dict)


class ModerationSettings(BaseModel):
    """Trust and safety (``agora.moderation``)."""

    # SafetyScore < flag_below: flagged and queued (seed 001); >= approve_at:
    # active; in between: active and queued for a low-priority look.
    flag_below: float = 0.4
    approve_at: float = 0.7
    # When the model store has no champion text classifiers, register the ones
    # shipped in the package (agora/moderation/artifacts) as champions.
    shipped_models: bool = True
    # With shipped_models off: train the text classifiers at first use from this
    # folder (hate-offensive-davidson/, sms-spam-collection/) when the store has
    # none. Also the default --data of `agora moderation train`.
    train_data_dir: str = ""
    # A folder of extra *.yaml rule files added to the packaged rules.
    extra_rules_dir: str = ""
    language_min_confidence: float = 0.4
    # Languages the trained classifiers saw (davidson and SMS spam are English);
    # elsewhere their risk is scaled down and rules carry the decision.
    classifier_languages: list[str] = Field(default_factory=lambda: ["en"])
    foreign_classifier_weight: float = 0.5
    # Per-language probability cuts per label, e.g. {"th": {"offensive": 0.9}}.
    language_thresholds: dict[str, dict[str, float]] = Field(default_factory=dict)
    # Share of a label's probability that counts as risk in the SafetyScore.
    label_weights: dict[str, float] = Field(
        default_factory=lambda: {"offensive": 1.0, "hate": 1.0, "spam": 0.9, "profanity": 0.6}
    )
    # Expected share of violating listings per label: calibrated probabilities
    # are moved from the training data's base rate to this one.
    label_priors: dict[str, float] = Field(
        default_factory=lambda: {"offensive": 0.05, "hate": 0.01, "spam": 0.05}
    )
    # Classifier labels that only advise: their risk lowers the SafetyScore (the
    # listing can be queued) but never holds a listing. spam: the shipped model
    # saw SMS only and is out of its domain on listing descriptions.
    advisory_labels: list[str] = Field(default_factory=lambda: ["spam"])
    max_text_chars: int = 20_000
    max_images: int = 10
    # Serve the classifiers' stacked view (TF-IDF + MiniLM sentence embedding);
    # false: the TF-IDF view alone (calibrated on its own, no encoder call).
    text_embeddings: bool = True
    # How often a process checks the model store for a new champion.
    model_refresh_s: float = 60.0


class TaggingSettings(BaseModel):
    """Auto-tagging (``agora.tagging``)."""

    cloud_confidence_threshold: float = 0.75
    # Empty: the search text profile. Zero-shot prototypes live in its space.
    text_profile: str = ""
    # Empty: the taxonomy shipped with Agora (agora/tagging/taxonomy.yaml).
    taxonomy_path: str = ""
    min_tag_count: int = 3
    max_processing_time_ms: float = 3000.0
    output_min_confidence: float = 0.3
    top_n_per_category: int = 3
    zero_shot_temperature: float = 0.05
    # New feedback rows since the champion heads' snapshot that make retraining due.
    retrain_min_feedback: int = 20
    # Retrain on a background thread of the process that receives the feedback once due.
    auto_retrain: bool = True
    # Cloud tagger: "" (none), "generic" (HTTP) or "rekognition" (boto3).
    cloud_provider: str = ""
    cloud_url: str = ""
    cloud_token: str = ""
    rekognition_region: str = "us-east-1"
    rekognition_endpoint_url: str = ""
    rekognition_project_arn: str = ""
    cloud_rate_per_s: float = 5.0
    cloud_burst: int = 10
    cloud_attempts: int = 3


class Settings(BaseSettings):
    """The platform's settings tree.

    Every backend is chosen by URL; empty URLs default to embedded files under
    ``data_dir``.
    """

    model_config = SettingsConfigDict(
        env_prefix="AGORA_",
        env_nested_delimiter="__",
        toml_file="agora.toml",
        extra="ignore",
    )

    data_dir: Path = Path(".agora")
    enterprise_forbid_cloud: bool = False
    catalog: CatalogSettings = Field(default_factory=CatalogSettings)
    bus: BusSettings = Field(default_factory=BusSettings)
    blobs: BlobSettings = Field(default_factory=BlobSettings)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    uploads: UploadSettings = Field(default_factory=UploadSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    features: FeatureSettings = Field(default_factory=FeatureSettings)
    recommend: RecommendSettings = Field(default_factory=RecommendSettings)
    ranking: RankingSettings = Field(default_factory=RankingSettings)
    mlops: MlopsSettings = Field(default_factory=MlopsSettings)
    moderation: ModerationSettings = Field(default_factory=ModerationSettings)
    tagging: TaggingSettings = Field(default_factory=TaggingSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments > environment > agora.toml.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @model_validator(mode="after")
    def _fill_embedded_defaults(self) -> Settings:
        data = self.data_dir.absolute()
        if not self.catalog.url:
            self.catalog.url = f"sqlite:///{data / 'catalog.db'}"
        if not self.blobs.url:
            self.blobs.url = f"file://{data / 'blobs'}"
        if not self.registry.tracking_uri:
            self.registry.tracking_uri = f"sqlite:///{data / 'mlflow.db'}"
        if not self.registry.artifact_root:
            self.registry.artifact_root = str(data / "mlartifacts")
        return self

    @property
    def embedded(self) -> bool:
        """True when the catalog and the bus are both embedded (one-machine mode)."""
        return self.catalog.url.startswith("sqlite") and self.bus.url.startswith("memory")

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Read and validate settings once; create the data directory."""
        settings = cls(**overrides)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return settings
