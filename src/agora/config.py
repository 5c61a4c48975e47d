"""One validated settings tree for the whole platform.

Read once at the entry point (``Settings.load()``) from ``AGORA_*`` environment
variables (nested with ``__``, e.g. ``AGORA_BUS__URL``) and an optional
``agora.toml``, then passed down explicitly. Nothing below the entry point
reads ``os.environ``.

Every section refuses unknown keys and every closed choice is a ``Literal``,
so a typo (``search.fusoin``, ``ranking.scorer = "lambdamrt"``) stops start-up
with a ``SettingsError`` that names the setting, the valid choices and the
closest one, instead of silently running with a default.

Example:
    >>> s = Settings(data_dir="/tmp/agora")
    >>> s.catalog.url.startswith("sqlite:///")
    True
    >>> Settings.load(data_dir="/tmp/agora", search={"fusoin": "rrf"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    agora.config_checks.SettingsError: invalid settings:
      search.fusoin (AGORA_SEARCH__FUSOIN): unknown setting; did you mean 'fusion'? ...
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from agora.config_checks import SettingsError as SettingsError  # re-exported: callers catch it
from agora.config_checks import (
    all_between,
    each,
    explain,
    http_url,
    import_path,
    items_in,
    keys_in,
    ordered,
    positive,
    stray_env_vars,
    upper,
    url_scheme,
)

ENV_PREFIX = "AGORA_"
ENV_DELIMITER = "__"

# --- Closed choices. Each mirrors the code that consumes it; tests/unit/test_settings.py
# checks them against the capability's own constants so the two cannot drift.
TextProfile = Literal["minilm", "e5"]
Fusion = Literal["rrf", "convex"]
# agora.index.analysis.AnalyserName (config stays free of the index stack).
KeywordAnalyser = Literal["standard", "product"]
Scorer = Literal["final_score", "lambdamart"]
FraudAction = Literal["remove", "demote"]
HybridReranker = Literal["blend", "ltr"]
CloudProvider = Literal["", "generic", "rekognition"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
RETRIEVERS = ("keyword", "text", "conse", "image")
EVENT_TYPES = ("impression", "view", "click", "favorite", "add_to_cart", "purchase", "skip")
MODERATION_LABELS = ("offensive", "hate", "spam", "profanity")


Share = Annotated[float, Field(ge=0.0, le=1.0)]
PostgresUrl = Annotated[
    str, AfterValidator(url_scheme("postgresql", "postgres", "postgresql+psycopg"))
]
RedisUrl = Annotated[str, AfterValidator(url_scheme("redis", "rediss"))]
HttpUrl = Annotated[str, AfterValidator(http_url)]
ImportPaths = Annotated[list[str], AfterValidator(each(import_path))]


class Section(BaseModel):
    """Base of every settings section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class CatalogSettings(Section):
    """Catalog and platform state: ``sqlite:///path`` or ``postgresql://...``."""

    url: str = Field(default="", description="Database URL; empty: SQLite under data_dir.")
    pool_size: int = Field(
        default=5, ge=1, description="Connections kept per process (PostgreSQL)."
    )
    echo: bool = Field(default=False, description="Log every SQL statement (debugging).")


class BusSettings(Section):
    """Event bus: ``memory://`` (durable SQLite outbox) or ``redis://host:port/db``."""

    url: str = Field(default="memory://", description="Bus URL: memory:// (embedded) or redis://.")
    stream_prefix: str = Field(
        default="agora", min_length=1, description="Prefix of the stream names (Redis keys)."
    )
    max_attempts: int = Field(
        default=5,
        ge=1,
        description="Deliveries of one event before it goes to the dead-letter list.",
    )
    backoff_base_s: float = Field(
        default=0.5, ge=0, description="First redelivery delay; doubles per attempt."
    )
    backoff_max_s: float = Field(default=60.0, ge=0, description="Cap of the redelivery delay.")
    visibility_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="A delivery not acked within this time is handed to another consumer.",
    )
    max_stream_length: int = Field(
        default=1_000_000,
        ge=1,
        description="Approximate cap of a stream's length (oldest trimmed).",
    )

    @model_validator(mode="after")
    def _backoff_ordered(self) -> BusSettings:
        ordered(self, "backoff_base_s", "backoff_max_s")
        return self


class BlobSettings(Section):
    """Blob store: ``file:///path`` (content-addressed folder) or
    ``s3://bucket/prefix`` (any S3-compatible object store: AWS, MinIO, Ceph)."""

    # Not checked here: the backend registry refuses unknown schemes, and a plugin
    # may register its own.
    url: str = Field(default="", description="Blob store URL; empty: a folder under data_dir.")
    s3_endpoint_url: Annotated[str, AfterValidator(http_url)] = Field(
        default="", description="S3 endpoint (MinIO, Ceph, moto); empty: AWS for the region."
    )
    s3_region: str = Field(default="us-east-1", description="S3 region name.")
    s3_access_key_id: str = Field(
        default="", description="S3 access key; empty: boto3's default credential chain."
    )
    s3_secret_access_key: str = Field(
        default="", description="S3 secret key; empty: boto3's default credential chain."
    )
    presign_expiry_s: int = Field(
        default=3600,
        ge=1,
        le=7 * 24 * 3600,
        description="Lifetime of presigned download URLs (S3 caps it at 7 days).",
    )


class ProcessingSettings(Section):
    """Media optimisation jobs (``agora.processing``): upscaling, LODs,
    conversion, thumbnails, run by workers of the ``optimizations`` group."""

    consumers: int = Field(
        default=1, ge=0, le=16, description="Optimisation consumer threads per worker process."
    )
    threads: int = Field(
        default=2, ge=1, le=64, description="CPU threads of one Real-ESRGAN (ncnn) inference."
    )
    use_gpu: bool | None = Field(
        default=None,
        description="Run ncnn on a Vulkan GPU: true, false, or null to use one when present.",
    )
    stale_after_s: float = Field(
        default=120.0,
        gt=0,
        description="A running job whose progress has not moved for this long is taken over "
        "by another worker (its worker is presumed dead).",
    )
    max_source_bytes: int = Field(
        default=200 * 1024 * 1024, ge=1, description="Largest source file a job will read."
    )
    # Each entry is validated as an OptimizationSpec when a worker starts.
    default_optimizations: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict,
        description="Category -> optimisations ({operation, options}) requested for every "
        "asset of that category once its post-upload pipeline has run.",
    )


class RegistrySettings(Section):
    """Model store backed by MLflow: tracking URI and artifact location."""

    tracking_uri: str = Field(
        default="", description="MLflow tracking URI; empty: SQLite under data_dir."
    )
    artifact_root: str = Field(
        default="", description="Where model artifacts are stored; empty: a folder under data_dir."
    )


class UploadSettings(Section):
    """Limits applied to every upload before anything is stored."""

    max_file_bytes: int = Field(default=50 * 1024 * 1024, ge=1, description="Largest single file.")
    max_files: int = Field(default=20, ge=1, description="Most files in one upload request.")
    max_request_bytes: int = Field(
        default=200 * 1024 * 1024, ge=1, description="Largest whole upload request body."
    )
    max_image_pixels: int = Field(
        default=40_000_000,
        ge=1,
        description="Largest image (width x height); guards decompression bombs.",
    )
    max_archive_ratio: float = Field(
        default=100.0, ge=1.0, description="Largest uncompressed/compressed ratio of an archive."
    )
    max_archive_uncompressed_bytes: int = Field(
        default=1024 * 1024 * 1024,
        ge=1,
        description="Largest total uncompressed size of an archive.",
    )
    max_archive_entries: int = Field(
        default=10_000, ge=1, description="Most entries in one archive."
    )
    max_metadata_bytes: int = Field(
        default=64 * 1024, ge=1, description="Largest metadata document attached to an asset."
    )
    max_batch_lines: int = Field(
        default=10_000, ge=1, description="Most lines in one JSON-lines batch."
    )
    max_events_per_request: int = Field(
        default=10_000, ge=1, description="Most interaction events in one request."
    )
    import_max_backlog: int = Field(
        default=2_000,
        ge=1,
        description="A resumable import (one with an import id) is answered 503 with "
        "Retry-After while more pipeline jobs than this are queued or running.",
    )
    import_retry_after_s: int = Field(
        default=5, ge=1, description="Retry-After, in seconds, of an import refused for backlog."
    )


class SecuritySettings(Section):
    """API keys, scopes and rate limits."""

    auth_enabled: bool = Field(
        default=True, description="Require an API key on every non-public route."
    )
    rate_limit_per_minute: int = Field(
        default=6000, ge=1, description="Requests per minute per API key."
    )
    rate_limit_burst: int = Field(
        default=1000, ge=1, description="Requests a key may send at once above the steady rate."
    )
    # The landing page shows catalog counts and platform status without a key,
    # so a fresh `make run` opens a working page; turn off for public deployments.
    public_landing_page: bool = Field(
        default=True,
        description="Show catalog counts and platform status on / without a key; "
        "turn off for public deployments.",
    )
    console_idle_timeout_s: float = Field(
        default=1800.0,
        gt=0,
        description="Seconds without a click after which a console session signs out.",
    )


class WebhookSettings(Section):
    """Outgoing webhook deliveries."""

    timeout_s: float = Field(default=5.0, gt=0, description="Timeout of one delivery attempt.")
    max_attempts: int = Field(
        default=8, ge=1, description="Attempts before a delivery is given up."
    )
    backoff_base_s: float = Field(
        default=1.0, ge=0, description="First retry delay; doubles per attempt."
    )
    backoff_max_s: float = Field(default=300.0, ge=0, description="Cap of the retry delay.")

    @model_validator(mode="after")
    def _backoff_ordered(self) -> WebhookSettings:
        ordered(self, "backoff_base_s", "backoff_max_s")
        return self


class PipelineSettings(Section):
    """Post-upload pipeline.

    Steps come from the ``agora.steps`` entry-point group; ``extra_steps`` adds
    steps by import path (``module:Class``) without packaging a plugin, and
    ``disabled_steps`` turns named steps off.
    """

    extra_steps: ImportPaths = Field(
        default_factory=list, description="Extra steps by import path (module:Class)."
    )
    disabled_steps: list[str] = Field(
        default_factory=list, description="Names of steps to turn off."
    )
    consumers: int = Field(default=1, ge=1, description="Pipeline consumers per worker process.")
    # A queued pipeline job whose event never reached the bus (crash between the
    # catalog commit and the publish) is re-published after this many seconds.
    republish_after_s: float = Field(
        default=60.0,
        ge=0,
        description="A queued job whose event never reached the bus is re-published "
        "after this many seconds.",
    )
    # Batching across assets: one encoder call per step for the whole batch.
    # A batch settles within one delivery lease (bus.visibility_timeout_s).
    batch_max_assets: int = Field(
        default=32, ge=1, le=1024, description="Deliveries a pipeline consumer takes at once."
    )
    batch_max_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1,
        description="Bound of one step batch: text characters plus image bytes of its assets.",
    )
    batch_linger_ms: int = Field(
        default=50,
        ge=0,
        le=10_000,
        description="How long a consumer waits for more deliveries to fill a batch.",
    )
    yield_max_ms: int = Field(
        default=250,
        ge=0,
        le=60_000,
        description="Longest wait of a batch step for in-process interactive requests.",
    )
    # Concurrency that fits the machine: None means one worker process per core,
    # and each process's model threads = cores // processes (at least 1).
    worker_processes: int | None = Field(
        default=None, ge=1, description="Processes `agora worker` runs (None: one per core)."
    )
    intra_op_threads: int | None = Field(
        default=None,
        ge=1,
        description="ONNX/BLAS threads per process (None: cores // worker processes).",
    )
    worker_nice: int = Field(
        default=5,
        ge=0,
        le=19,
        description="Niceness of `agora worker` processes, so the API's requests come first.",
    )


class ServerSettings(Section):
    """API gateway process settings."""

    host: str = Field(default="127.0.0.1", description="Interface the API binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the API listens on.")
    workers: int = Field(default=1, ge=1, description="API processes.")
    # With embedded backends the API process also runs the workers and the
    # scheduler, so one command is a whole platform.
    run_workers_in_process: bool = Field(
        default=True,
        description="With embedded backends, run the pipeline workers inside the API process.",
    )
    log_json: bool = Field(default=True, description="Log JSON lines (false: plain text).")
    log_level: Annotated[LogLevel, BeforeValidator(upper)] = Field(
        default="INFO", description="Root log level (case-insensitive)."
    )


# --- Capability sections. Each class body is owned by its capability. ---


Floors = Annotated[dict[str, float] | None, AfterValidator(keys_in(RETRIEVERS, "retriever"))]


class SearchSettings(Section):
    """Encoders, indexes and retrieval (``agora.encoders``, ``agora.index``, ``agora.search``)."""

    text_profile: TextProfile = Field(
        default="minilm",
        description="Text encoder: minilm (English, fast) or e5 (multilingual-e5-small, slow).",
    )
    vector_url: PostgresUrl = Field(
        default="",
        description="Vector index: empty (embedded HNSW files) or postgresql:// (pgvector).",
    )
    keyword_url: PostgresUrl = Field(
        default="",
        description="Keyword index: empty (embedded BM25 files) or postgresql:// (full-text).",
    )
    # Defaults chosen by benchmarks/search_quality.py on SciFact's *train* qrels
    # (convex 0.6 keyword / 0.4 text); on test: hybrid nDCG@10 0.736 vs 0.717 for
    # plain RRF with MiniLM. See README "Search" for the tuning.
    fusion: Fusion = Field(
        default="convex",
        description="How retrievers' lists are merged: rrf (weighted reciprocal-rank fusion) "
        "or convex (weighted sum of min-max normalised scores).",
    )
    rrf_k: float = Field(default=60.0, gt=0, description="The k of reciprocal-rank fusion.")
    fusion_weights: Annotated[
        dict[str, float],
        AfterValidator(keys_in(RETRIEVERS, "retriever")),
        AfterValidator(all_between(0.0, float("inf"))),
    ] = Field(
        default_factory=lambda: {"keyword": 0.6, "text": 0.4, "conse": 0.3, "image": 1.0},
        description="Weight per retriever: keyword (BM25), text (text vectors), "
        "conse (image ConSE vectors), image (image features, similar items).",
    )
    # Deeper pages ask 4x as many, up to 2000, in fixed steps that only append to
    # the hit order (agora.search.pool), so the order never depends on offset or limit.
    candidates: int = Field(
        default=200, ge=1, description="Candidates per retriever at the first step of the pool."
    )
    # Unset (None): the text profile's calibrated floors (agora.search.retrievers,
    # chosen by benchmarks/search_floor.py; minilm: text 0.09 / 0.48, conse 0.47 / 0.47).
    relevance_floor: Floors = Field(
        default=None,
        description="Per retriever, rows scoring below it are not hits: cosine for text and "
        "conse, BM25 for keyword. Unset: the text profile's calibrated floors.",
    )
    unmatched_floor: Floors = Field(
        default=None,
        description="The stricter floor of dense rows when no query word occurs in the "
        "catalog (gibberish). Unset: the text profile's calibrated floors.",
    )
    # "product" and autocorrect: chosen on Home Depot's tuning queries, checked on
    # SciFact (benchmarks/generalisation_search.py, search_quality.py; figures in
    # docs/capabilities/search.md).
    keyword_analyser: KeywordAnalyser = Field(
        default="product",
        description="Keyword analysis of documents and queries: standard (words, stopwords, "
        "stems) or product (also units, sizes and model numbers normalised). Changing it "
        "re-analyses the keyword index when it is next opened.",
    )
    autocorrect: bool = Field(
        default=True,
        description="Search with misspelt query words corrected from the catalog's own "
        "words (the response's corrected_query); a query may turn it off.",
    )
    vocabulary_max_age_s: float = Field(
        default=300.0,
        ge=0,
        description="The did_you_mean dictionary (visible titles and tags) is rebuilt "
        "in the background once this old.",
    )
    prefilter_max: int = Field(
        default=5000,
        ge=0,
        description="Filters matching at most this many assets apply before search.",
    )
    snapshot_max_age_s: float = Field(
        default=5.0,
        ge=0,
        description="Other processes' catalog changes reach the in-memory snapshot that "
        "filters candidates within this many seconds.",
    )


class FeatureSettings(Section):
    """Feature store (``agora.features``)."""

    online_url: Annotated[str, AfterValidator(url_scheme("redis", "rediss", "unix", "file"))] = (
        Field(
            default="",
            description="Online store: empty (embedded memory-mapped files) or redis://.",
        )
    )
    offline_dir: str = Field(
        default="", description="Offline Parquet folder; empty: data_dir/offline."
    )
    # Seed 000: view < favorite < add_to_cart < purchase; skips count against.
    affinity_half_life_s: float = Field(
        default=7 * 24 * 3600.0,
        gt=0,
        description="Half-life of decay-weighted user-item affinities.",
    )
    affinity_weights: Annotated[
        dict[str, float], AfterValidator(keys_in(EVENT_TYPES, "event type"))
    ] = Field(
        default_factory=lambda: {
            "impression": 0.0,
            "view": 1.0,
            "click": 1.5,
            "favorite": 3.0,
            "add_to_cart": 5.0,
            "purchase": 10.0,
            "skip": 0.0,
        },
        description="Affinity weight per event type.",
    )
    stream_batch: int = Field(default=1000, ge=1, description="Events per stream-consumer batch.")
    offline_flush_s: float = Field(default=5.0, ge=0, description="Offline log flush period.")


class RecommendSettings(Section):
    """Recommendations (``agora.recommend``)."""

    cache_ttl_s: float = Field(default=900.0, ge=0, description="Lifetime of a cached list.")
    precompute_every_s: float = Field(
        default=7200.0, gt=0, description="Period of precomputing active users' lists."
    )
    # See the README: ltr 0.500 NDCG@10 on MovieLens-100k, blend 0.490 and ~20x faster to fit.
    hybrid_reranker: HybridReranker = Field(
        default="ltr",
        description="The hybrid: ltr (LightGBM rankers over the components' candidates) "
        "or blend (z-score weights searched on validation folds).",
    )
    cache_url: RedisUrl = Field(
        default="",
        description="List cache: empty (in-process TTL cache) or "
        "redis://host:port/db[?prefix=...] (shared).",
    )
    trending_window_h: float = Field(default=48.0, gt=0, description="Trending: rolling window.")
    trending_half_life_h: float = Field(
        default=12.0, gt=0, description="Trending: decay half-life."
    )
    active_days: float = Field(
        default=7.0,
        gt=0,
        description="Window in which a user counts as active (precomputed lists).",
    )
    active_min_events: int = Field(
        default=3, ge=1, description="Events within active_days that make a user active."
    )
    max_per_seller: int = Field(default=3, ge=1, description="Most items of one seller in a list.")
    # A ban, sell-out or purchase reaches cached lists within 2x this.
    catalog_recheck_s: float = Field(
        default=0.5,
        ge=0,
        description="Period of the delta read that refreshes the snapshot cache hits "
        "are checked against.",
    )
    ease_lambda: float = Field(default=300.0, gt=0, description="EASE L2 regularisation.")
    ease_dropout: float = Field(
        default=0.5,
        ge=0.0,
        lt=1.0,
        description="> 0: Steck's DLAE (dropout-equivalent, popularity-scaled L2); 0: plain EASE.",
    )
    # Many factors with strong L2 and alpha 4 was the validation optimum on
    # MovieLens-100k (0.386 -> 0.488 NDCG@10 against 64 factors, L2 0.05).
    als_factors: int = Field(default=200, ge=1, description="ALS latent factors.")
    als_regularization: float = Field(default=30.0, ge=0, description="ALS L2 regularisation.")
    als_alpha: float = Field(
        default=4.0, gt=0, description="ALS confidence scaling of interactions."
    )
    train_requires_consent: bool = Field(
        default=False,
        description="Only users whose consent allows model training feed collaborative models.",
    )


class RankingSettings(Section):
    """Ranking pipeline (``agora.ranking``)."""

    deadline_ms: float = Field(default=200.0, gt=0, description="Budget of one ranking request.")
    # Seed 001: feature store > 100 ms -> popularity.
    hydration_budget_ms: float = Field(
        default=100.0,
        gt=0,
        description="Budget of feature hydration; over it: popularity fallback.",
    )
    max_candidates: int = Field(
        default=1000, ge=1, description="Most candidates scored per request."
    )
    max_distance_km: float = Field(
        default=500.0, gt=0, description="Geo filter radius when the request sets none."
    )
    scorer: Scorer = Field(
        default="final_score",
        description="final_score (w_ctr*pCTR + w_cvr*pCVR + w_trust*SellerTrust + Boost) "
        "or lambdamart (a trained ranker).",
    )
    w_ctr: float = Field(default=1.0, ge=0, description="final_score weight of pCTR.")
    w_cvr: float = Field(default=2.0, ge=0, description="final_score weight of pCVR.")
    w_trust: float = Field(default=0.1, ge=0, description="final_score weight of SellerTrust.")
    w_relevance: Share = Field(
        default=1.0,
        description="Without trained models: weight of the recall stage's relevance "
        "(search score relative to the best hit, recommender rank).",
    )
    # A popular asset that barely matches the query cannot outrank the ones that do.
    search_relevance_power: float = Field(
        default=1.0,
        ge=0,
        description="Ranked search multiplies the model part of the score by "
        "relevance ** this (0: the models alone decide).",
    )
    max_same_seller_run: int = Field(
        default=3, ge=1, description="Most consecutive results from one seller."
    )
    fraud_threshold: Share = Field(
        default=0.7, description="Fraud probability at or above which fraud_action applies."
    )
    fraud_action: FraudAction = Field(
        default="remove", description="What happens to a likely fraudulent item: remove or demote."
    )
    sponsored_slots: Annotated[list[int], AfterValidator(each(positive))] = Field(
        default_factory=lambda: [4, 12], description="1-based positions of sponsored items."
    )
    catalog_refresh_s: float = Field(
        default=30.0, ge=0, description="Refresh period of the ranking catalog snapshot."
    )
    explain_top: int = Field(
        default=10, ge=0, description="Results that carry a score explanation."
    )
    log_served: bool = Field(default=True, description="Log served lists' features for training.")


class MlopsSettings(Section):
    """Training, gates, canary, drift, triggers, alerts, scheduler (``agora.mlops``)."""

    canary_share: Share = Field(
        default=0.05, description="Share of users (hash of the user id) served by the challenger."
    )
    canary_window_s: float = Field(
        default=3600.0,
        ge=0,
        description="A challenger healthy for this long (with enough traffic) is promoted "
        "(0: as soon as it has enough traffic).",
    )
    canary_min_requests: int = Field(
        default=200, ge=0, description="Challenger requests needed before a verdict."
    )
    canary_max_error_rate: Share = Field(
        default=0.02, description="Above it (or above the champion's + this): rollback."
    )
    canary_max_p95_ms: float = Field(
        default=200.0, gt=0, description="Challenger p95 latency limit."
    )
    canary_max_p99_ms: float = Field(
        default=500.0, gt=0, description="Challenger p99 latency limit."
    )
    canary_min_ctr_ratio: float = Field(
        default=0.0, ge=0, description="Floor of challenger CTR / champion CTR; 0: not a gate."
    )
    # Reco lists settle an hour after serving; a handful of them is noise.
    canary_min_impressions: int = Field(
        default=500,
        ge=0,
        description="With a CTR floor: impressions each version needs for a verdict.",
    )
    canary_ctr_wait_s: float = Field(
        default=86400.0,
        ge=0,
        description="With a CTR floor: most time past the window to wait for impressions "
        "(then the verdict is on health alone).",
    )
    canary_check_every_s: float = Field(default=300.0, gt=0, description="Canary check period.")
    gate_margin: float = Field(
        default=0.0, description="The challenger must beat the champion by this on the holdout."
    )
    # Seed 001: train on the last 28 days, test on the last 24 hours.
    train_window_days: float = Field(default=28.0, gt=0, description="Training window.")
    holdout_hours: float = Field(default=24.0, gt=0, description="Holdout window (most recent).")
    attribution_s: float = Field(
        default=3600.0, gt=0, description="A click counts within this time after the impression."
    )
    retrain_new_interactions: int = Field(
        default=100_000, ge=1, description="Retrain after this many new interactions."
    )
    retrain_psi: float = Field(
        default=0.2, gt=0, description="Retrain when feature drift (PSI) exceeds it."
    )
    trigger_check_every_s: float = Field(
        default=900.0, gt=0, description="Retrain trigger check period."
    )
    drift_check_every_s: float = Field(default=3600.0, gt=0, description="Drift check period.")
    drift_window_hours: float = Field(default=24.0, gt=0, description="Window compared for drift.")
    alert_fallback_rate: Share = Field(
        default=0.10, description="Alert when this share of ranking requests falls back."
    )
    alert_error_rate: Share = Field(
        default=0.05,
        description="Alert when this share of an API route's responses are 5xx "
        "(since the previous alert check, routes with 20 requests or more).",
    )
    alert_queue_depth: int = Field(
        default=1000,
        ge=1,
        description="Alert when more events than this wait for a consumer group.",
    )
    alert_slack_url: HttpUrl = Field(
        default="", description="Slack incoming-webhook URL for alerts."
    )
    alert_pagerduty_url: HttpUrl = Field(
        default="", description="PagerDuty Events v2 compatible URL for alerts."
    )
    alert_pagerduty_routing_key: str = Field(default="", description="PagerDuty routing key.")
    alert_generic_urls: Annotated[list[str], AfterValidator(each(http_url))] = Field(
        default_factory=list, description="URLs that receive alerts as generic JSON."
    )
    scheduler_in_process: bool = Field(
        default=True, description="`agora serve` runs the scheduler with embedded backends."
    )
    scheduler_tick_s: float = Field(default=5.0, gt=0, description="Scheduler tick.")
    orchestrator_concurrency: int = Field(default=2, ge=1, description="Training jobs run at once.")
    tasks: Annotated[dict[str, str], AfterValidator(each(import_path))] = Field(
        default_factory=dict,
        description='Extra or overriding named tasks: name -> "module:function".',
    )

    @model_validator(mode="after")
    def _latencies_ordered(self) -> MlopsSettings:
        ordered(self, "canary_max_p95_ms", "canary_max_p99_ms")
        return self


class ModerationSettings(Section):
    """Trust and safety (``agora.moderation``)."""

    # Seed 001.
    flag_below: Share = Field(
        default=0.4, description="SafetyScore below it: flagged and queued for review."
    )
    approve_at: Share = Field(
        default=0.7,
        description="SafetyScore at or above it: active; between flag_below and it: "
        "active and queued for a low-priority look.",
    )
    shipped_models: bool = Field(
        default=True,
        description="Without champion text classifiers, register the ones shipped in the "
        "package (agora/moderation/artifacts) as champions.",
    )
    train_data_dir: str = Field(
        default="",
        description="With shipped_models off: train the text classifiers at first use from "
        "this folder (hate-offensive-davidson/, sms-spam-collection/); also the default "
        "--data of `agora moderation train`.",
    )
    extra_rules_dir: str = Field(
        default="", description="A folder of extra *.yaml rule files added to the packaged rules."
    )
    language_min_confidence: Share = Field(
        default=0.4, description="Language guesses below this confidence count as unknown."
    )
    # Davidson and SMS spam are English.
    classifier_languages: list[str] = Field(
        default_factory=lambda: ["en"],
        description="Languages the trained classifiers saw; elsewhere their risk is scaled "
        "by foreign_classifier_weight and rules carry the decision.",
    )
    foreign_classifier_weight: Share = Field(
        default=0.5, description="Scale of classifier risk outside classifier_languages."
    )
    language_thresholds: Annotated[
        dict[str, dict[str, float]],
        AfterValidator(each(keys_in(MODERATION_LABELS, "label"))),
        AfterValidator(each(all_between(0.0, 1.0))),
    ] = Field(
        default_factory=dict,
        description='Per-language probability cuts per label, e.g. {"th": {"offensive": 0.9}}.',
    )
    label_weights: Annotated[
        dict[str, float],
        AfterValidator(keys_in(MODERATION_LABELS, "label")),
        AfterValidator(all_between(0.0, 1.0)),
    ] = Field(
        default_factory=lambda: {"offensive": 1.0, "hate": 1.0, "spam": 0.9, "profanity": 0.6},
        description="Share of a label's probability that counts as risk in the SafetyScore.",
    )
    label_priors: Annotated[
        dict[str, float],
        AfterValidator(keys_in(MODERATION_LABELS, "label")),
        AfterValidator(all_between(0.0, 1.0)),
    ] = Field(
        default_factory=lambda: {"offensive": 0.05, "hate": 0.01, "spam": 0.05},
        description="Expected share of violating listings per label: calibrated "
        "probabilities move from the training data's base rate to this one.",
    )
    hold_probability: Share = Field(
        default=0.5,
        description="A classifier label holds a listing only where its probability at the "
        "marketplace's base rate (label_priors) reaches this, as well as the model's cut.",
    )
    # spam: the shipped model saw SMS only and is out of its domain on listing descriptions.
    advisory_labels: Annotated[list[str], AfterValidator(items_in(MODERATION_LABELS, "label"))] = (
        Field(
            default_factory=lambda: ["spam"],
            description="Labels that only advise: their risk lowers the SafetyScore (the listing "
            "can be queued) but never holds a listing.",
        )
    )
    max_text_chars: int = Field(default=20_000, ge=1, description="Longest text analysed.")
    max_images: int = Field(default=10, ge=0, description="Most images analysed per listing.")
    text_embeddings: bool = Field(
        default=True,
        description="Serve the classifiers' stacked view (TF-IDF + MiniLM embedding); "
        "false: TF-IDF alone (no encoder call).",
    )
    model_refresh_s: float = Field(
        default=60.0,
        ge=0,
        description="How often a process checks the model store for a new champion.",
    )

    @model_validator(mode="after")
    def _bands_ordered(self) -> ModerationSettings:
        ordered(self, "flag_below", "approve_at")
        return self


class VisionSettings(Section):
    """Image condition and the operator's object detector (``agora.vision``)."""

    condition_refresh_s: float = Field(
        default=60.0, gt=0, description="Seconds between looks for a new image-condition champion."
    )
    detector_model: str = Field(
        default="",
        description="An ONNX object detector under Agora's contract (docs/capabilities/"
        "vision.md); empty: analyze-image says no detector is configured.",
    )
    detector_classes: list[str] = Field(
        default_factory=list, description="The detector's class names, in output order."
    )
    detector_input_size: int = Field(
        default=640, ge=32, le=4096, description="Side of the detector's square input."
    )
    detector_layout: Literal["yolov8", "yolov5"] = Field(
        default="yolov8",
        description="Output layout: (1, 4+C, N) for yolov8, (1, N, 5+C) for yolov5.",
    )
    detector_score_min: Share = Field(
        default=0.25, description="Detections below this class score are dropped."
    )
    detector_iou_max: Share = Field(
        default=0.45, description="Non-maximum suppression overlap (IoU) per class."
    )


class EkycSettings(Section):
    """Face match and liveness for identity checks (``agora.identity``)."""

    key: str = Field(
        default="",
        pattern=r"^(|.{32,})$",
        description="Secret for the embedding's keyed hash (HMAC-SHA256) and its encryption "
        "(AES-GCM); at least 32 characters. Empty: eKYC is off (503).",
    )
    match_threshold: float = Field(
        default=0.607,
        gt=0,
        description="dlib embedding distance at or below which two faces match; calibrated "
        "on face-pairs/master.csv (benchmarks/ekyc.py: best accuracy with a false-match "
        "rate <= 0.01 there).",
    )
    match_scale: float = Field(
        default=0.042,
        gt=0,
        description="Spread of the distance-to-score logistic (face_match_score is 0.5 at "
        "the threshold); calibrated with the threshold.",
    )
    liveness_model: str = Field(
        default="",
        description="An ONNX liveness model (input: the challenge's face chips (T, 3, S, S); "
        "output: P(live)); empty: liveness from the active challenge alone.",
    )
    keep_originals: bool = Field(
        default=False,
        description="Keep the submitted photos, encrypted, until the retention job deletes "
        "them (off: photos exist in memory only).",
    )
    retention_days: float = Field(
        default=30.0, gt=0, description="Stored originals are deleted after this many days."
    )
    min_face_px: int = Field(
        default=80, ge=20, description="Smallest accepted face box side, in pixels."
    )
    min_sharpness: float = Field(
        default=20.0,
        ge=0,
        description="Smallest variance of the Laplacian on the face crop (lower: blurred).",
    )
    max_image_pixels: int = Field(
        default=25_000_000, ge=1, description="Larger photos are refused (413)."
    )


def _default_polycount_budgets() -> dict[str, int]:
    # Triangles a buyer's engine can take for one asset of the category; the
    # "default" entry covers categories not listed. Real-time game budgets:
    # props and items stay small, whole environments may be large.
    return {
        "default": 100_000,
        "items": 10_000,
        "characters": 50_000,
        "enemies": 50_000,
        "vehicles": 80_000,
        "environment-3d": 250_000,
    }


class Models3DSettings(Section):
    """3D model validation (``agora.quality.models3d``, pipeline step ``models3d``).

    Each model file is loaded in a child process bounded by ``timeout_s`` and
    ``memory_mb``, so a hostile file costs at most that and never the worker.
    """

    polycount_budgets: dict[str, int] = Field(
        default_factory=_default_polycount_budgets,
        description="Most triangles per model by asset category; 'default' for the rest.",
    )
    timeout_s: float = Field(
        default=60.0, gt=0, le=3600, description="Wall-clock limit of one model's validation."
    )
    memory_mb: int = Field(
        default=2048, ge=256, description="Address-space limit of the validating child process."
    )
    max_models_per_asset: int = Field(
        default=20, ge=1, description="Most model files validated per asset (files and archives)."
    )
    assimp: str = Field(
        default="assimp",
        description="The Assimp command (Debian assimp-utils) used for FBX and other "
        "formats trimesh cannot read; empty to turn Assimp off.",
    )
    hold_on_fail: bool = Field(
        default=True,
        description="Hold an asset for review when one of its models gets verdict 'fail'.",
    )


class LanguageSettings(Section):
    """Sentiment, emotion, intent heads and auto-reply (``agora.language``, ``agora.autoreply``)."""

    model_refresh_s: float = Field(
        default=60.0,
        ge=0,
        description="How often a process checks the model store for new champion heads.",
    )
    max_batch_texts: int = Field(
        default=64, ge=1, le=1000, description="Most texts in one `analyze-text:batch` request."
    )
    auto_reply_suggestions: int = Field(
        default=3, ge=1, le=10, description="Replies `POST /auto-reply` offers."
    )
    auto_reply_past_replies: int = Field(
        default=500,
        ge=0,
        description="Most of a seller's stored past replies searched per auto-reply request.",
    )


class TaggingSettings(Section):
    """Auto-tagging (``agora.tagging``)."""

    cloud_confidence_threshold: Share = Field(
        default=0.75,
        description="Default min_confidence of a request: a top-3 local tag below it "
        "triggers the cloud fallback.",
    )
    text_profile: Literal["", "minilm", "e5"] = Field(
        default="",
        description="Text encoder of the zero-shot prototypes; empty: search.text_profile.",
    )
    taxonomy_path: str = Field(
        default="", description="Taxonomy YAML; empty: the one shipped with Agora."
    )
    # Ranges match the request's processing_options (agora.tagging.router).
    min_tag_count: int = Field(
        default=3,
        ge=0,
        le=50,
        description="Default min_tag_count of a request: fewer confident tags trigger "
        "the cloud fallback.",
    )
    max_processing_time_ms: float = Field(
        default=3000.0,
        ge=1.0,
        le=600_000.0,
        description="Default time budget (max_processing_time) of tagging one asset.",
    )
    output_min_confidence: Share = Field(default=0.3, description="Tags below it are not returned.")
    top_n_per_category: int = Field(default=3, ge=1, description="Most tags returned per category.")
    zero_shot_temperature: float = Field(
        default=0.05, gt=0, description="Softmax temperature of zero-shot similarities."
    )
    retrain_min_feedback: int = Field(
        default=20,
        ge=1,
        description="New feedback rows since the champion heads that make retraining due.",
    )
    auto_retrain: bool = Field(
        default=True,
        description="Retrain on a background thread of the process receiving the feedback.",
    )
    cloud_provider: CloudProvider = Field(
        default="", description="Cloud tagger: empty (none), generic (HTTP) or rekognition (boto3)."
    )
    cloud_url: HttpUrl = Field(default="", description="Endpoint of the generic cloud tagger.")
    cloud_token: str = Field(default="", description="Bearer token of the generic cloud tagger.")
    rekognition_region: str = Field(default="us-east-1", description="AWS region of Rekognition.")
    rekognition_endpoint_url: HttpUrl = Field(
        default="", description="Rekognition endpoint override (e.g. a local emulator)."
    )
    rekognition_project_arn: str = Field(
        default="", description="Custom Labels project version ARN; empty: the generic labels."
    )
    cloud_rate_per_s: float = Field(default=5.0, gt=0, description="Cloud calls per second.")
    cloud_burst: int = Field(
        default=10, ge=1, description="Cloud calls allowed at once above the rate."
    )
    cloud_attempts: int = Field(default=3, ge=1, description="Attempts per cloud call.")

    @model_validator(mode="after")
    def _cloud_complete(self) -> TaggingSettings:
        if self.cloud_provider == "generic" and not self.cloud_url:
            raise ValueError("cloud_provider 'generic' needs tagging.cloud_url")
        return self


class ScanSettings(Section):
    """Malware scanning of uploads (``agora.quality.scan``, the ``scan`` pipeline step)."""

    clamd_url: str = Field(
        default="",
        description="A running clamd: unix:///run/clamav/clamd.ctl or tcp://host:3310 "
        "(its DatabaseDirectory holds the signatures); empty: run clamscan.",
    )
    clamscan_path: str = Field(default="clamscan", description="The clamscan command.")
    databases: list[str] = Field(
        default_factory=lambda: ["/var/lib/clamav"],
        description="ClamAV signature databases (files or folders, e.g. freshclam's) "
        "given to clamscan with -d; missing or empty ones are skipped.",
    )
    shipped_signatures: bool = Field(
        default=True,
        description="Also use Agora's own ClamAV database (EICAR and the ClamAV test "
        "payloads) and YARA rules (GuardDog's source-code rules).",
    )
    yara_dirs: list[str] = Field(
        default_factory=list, description="Folders of extra YARA rules (.yar, .yara)."
    )
    yara_hold_severity: Literal["low", "medium", "high", "none"] = Field(
        default="high",
        description="A YARA match at or above this severity holds the asset for review "
        "(none: YARA matches only feed the risk score).",
    )
    # Accept by default: ClamAV is a Debian package that `make run` cannot install,
    # and holding every upload of a first run would leave the demo catalog empty.
    # Operators who ship ClamAV set hold (docs/capabilities/quality-scores.md).
    when_absent: Literal["hold", "accept"] = Field(
        default="accept",
        description="An asset scanned without an engine (ClamAV or YARA absent): held for "
        "review, or accepted; either way its result says 'unscanned' and it is counted "
        "(agora_scan_engine_absent_total). Set hold where ClamAV is installed.",
    )
    timeout_s: float = Field(default=300.0, gt=0, description="Longest scan of one batch.")


QUALITY_SIGNALS = ("integrity", "completeness", "images", "models3d", "duplicates")
RISK_SIGNALS = (
    "scan", "duplicates", "moderation", "integrity", "models3d",
    "seller_trust", "seller_history", "anomaly",
)  # fmt: skip


class ScoreSettings(Section):
    """Asset quality and risk scores (``agora.quality.risk``, the ``scores`` step)."""

    quality_weights: Annotated[
        dict[str, float],
        AfterValidator(keys_in(QUALITY_SIGNALS, "signal")),
        AfterValidator(all_between(0.0, 1.0)),
    ] = Field(
        default_factory=lambda: {
            "integrity": 0.25,
            "completeness": 0.25,
            "images": 0.2,
            "models3d": 0.15,
            "duplicates": 0.15,
        },
        description="Weights of the quality score's signals (a weighted mean over the "
        "signals present).",
    )
    risk_weights: Annotated[
        dict[str, float],
        AfterValidator(keys_in(RISK_SIGNALS, "signal")),
        AfterValidator(all_between(0.0, 1.0)),
    ] = Field(
        default_factory=lambda: {
            "scan": 1.0,
            "duplicates": 0.9,
            "moderation": 0.8,
            "integrity": 0.6,
            "models3d": 0.6,
            "seller_trust": 0.4,
            "seller_history": 0.6,
            "anomaly": 0.4,
        },
        description="Weights of the risk score's signals: risk = 1 - prod(1 - weight x signal).",
    )
    hold_risk_at: Share = Field(
        default=0.9, description="A risk score at or above this holds the asset for review."
    )
    anomaly_model: str = Field(
        default="asset-anomaly",
        description="Registered name of the anomaly model (IsolationForest over the asset's "
        "measured properties; its champion serves).",
    )
    max_images: int = Field(default=5, ge=0, description="Most images measured per asset.")


class CodeReviewSettings(Section):
    """Automatic review of uploaded scripts and plugins (``agora.codereview``)."""

    enabled: bool = Field(
        default=True, description="Review every script of an upload in the `codereview` step."
    )
    batch_size: int = Field(
        default=50,
        ge=1,
        le=500,
        description="Scripts per analyser call (Semgrep runs one process per batch).",
    )
    semgrep_timeout_s: float = Field(
        default=120.0, gt=0, description="Longest one Semgrep batch may run."
    )
    semgrep_bin: str = Field(
        default="",
        description="The semgrep executable (default: beside Python, on PATH, or the "
        "checkout's .tools/semgrep virtualenv that `make install` creates).",
    )
    model_path: str = Field(
        default="",
        description="A verdict model file (agora-code-review-verdict JSON) to serve instead of "
        "the champion or the model shipped in agora/codereview/artifacts.",
    )
    train_data_dir: str = Field(
        default="",
        description="The folder holding guarddog-snippets/ for `agora train code-review` "
        "(default: the shared/data folder beside the checkout).",
    )
    npm_corpus_dir: str = Field(
        default="",
        description="A folder with node_modules/ of benign npm packages for training "
        "(default: data_dir/codereview/npm, installed with npm on first use).",
    )
    max_upload_bytes: int = Field(
        default=50 * 1024 * 1024,
        ge=1,
        description="Largest file or archive POST /api/v1/code-review accepts.",
    )


class DuplicateSettings(Section):
    """Near-duplicate and re-upload detection (``agora.quality.duplicates``).

    The cascade's thresholds were chosen on the training half of
    ``benchmarks/duplicates.py`` (Kenney sprites) and reported on the other half.
    """

    hold_other_seller: bool = Field(
        default=True,
        description="Hold an upload that copies another seller's active asset for review.",
    )
    hash_radius: int = Field(
        default=6, ge=0, le=24, description="pHash bits within which pictures are candidates."
    )
    hash_match: int = Field(
        default=6, ge=0, le=24, description="pHash bits within which a candidate is a copy."
    )
    min_similarity_hash: float = Field(
        default=0.3, ge=-1, le=1, description="Embedding cosine a hash match must also reach."
    )
    neighbours: int = Field(
        default=10, ge=0, le=200, description="Nearest pictures by embedding added as candidates."
    )
    min_similarity_verify: float = Field(
        default=0.65, ge=-1, le=1,
        description="Embedding cosine above which a candidate is verified by ORB + RANSAC.",
    )  # fmt: skip
    max_verify: int = Field(
        default=5, ge=0, le=50, description="Candidates verified geometrically per picture."
    )
    min_inliers: int = Field(
        default=20, ge=4, le=500, description="RANSAC inliers that make a geometric match."
    )
    min_correlation: float = Field(
        default=0.7, ge=-1, le=1,
        description="Correlation of the copy warped onto the original that confirms a fit.",
    )  # fmt: skip
    mesh_max_distance: float = Field(
        default=0.05, ge=0, le=2, description="Mesh fingerprint distance of a 3D copy."
    )
    max_mesh_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1, description="3D files above this are not fingerprinted."
    )


class Settings(BaseSettings):
    """The platform's settings tree.

    Every backend is chosen by URL; empty URLs default to embedded files under
    ``data_dir``.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_DELIMITER,
        toml_file="agora.toml",
        extra="forbid",
    )

    data_dir: Path = Field(
        default=Path(".agora"), description="Where embedded backends keep their files."
    )
    enterprise_forbid_cloud: bool = Field(
        default=False,
        description="Never send data to cloud services, whatever a seller consented to.",
    )
    catalog: CatalogSettings = Field(default_factory=CatalogSettings)
    bus: BusSettings = Field(default_factory=BusSettings)
    blobs: BlobSettings = Field(default_factory=BlobSettings)
    processing: ProcessingSettings = Field(default_factory=ProcessingSettings)
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
    language: LanguageSettings = Field(default_factory=LanguageSettings)
    tagging: TaggingSettings = Field(default_factory=TaggingSettings)
    scan: ScanSettings = Field(default_factory=ScanSettings)
    scores: ScoreSettings = Field(default_factory=ScoreSettings)
    vision: VisionSettings = Field(default_factory=VisionSettings)
    ekyc: EkycSettings = Field(default_factory=EkycSettings)
    models3d: Models3DSettings = Field(default_factory=Models3DSettings)
    codereview: CodeReviewSettings = Field(default_factory=CodeReviewSettings)
    duplicates: DuplicateSettings = Field(default_factory=DuplicateSettings)

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
    def load(cls, *, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read and validate settings once; create the data directory.

        Raises ``SettingsError`` naming every unknown or invalid setting (with the
        valid choices and the closest key to a typo). ``environ`` (default
        ``os.environ``) is also checked for variables that look like settings but
        that the environment source would skip silently (``stray_env_vars``).
        """
        environ = os.environ if environ is None else environ
        problems = stray_env_vars(cls, environ, ENV_PREFIX, ENV_DELIMITER)
        try:
            settings = cls(**overrides)
        except ValidationError as exc:
            problems += explain(cls, exc, ENV_PREFIX, ENV_DELIMITER)
        if problems:
            raise SettingsError("invalid settings:\n  " + "\n  ".join(problems))
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return settings
