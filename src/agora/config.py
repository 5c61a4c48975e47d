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
from typing import Any

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
