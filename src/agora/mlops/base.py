"""Model store interface: the one way every model is saved, versioned and loaded.

Example:
    >>> ref = store.save("spam-clf", model_obj, params={"C": 1.0},
    ...                  metrics={"f1": 0.96}, data_snapshot="events@2026-11-01",
    ...                  features=["tfidf"])  # doctest: +SKIP
    >>> store.set_alias("spam-clf", "champion", ref.version)  # doctest: +SKIP
    >>> obj = store.load("spam-clf", alias="champion")  # doctest: +SKIP
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agora.domain import ModelRef


@dataclass(frozen=True)
class ModelVersionInfo:
    """Metadata recorded with a saved model version."""

    ref: ModelRef
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    data_snapshot: str | None = None
    features: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    created_at: float | None = None
    run_id: str | None = None


class ModelStore(ABC):
    """Save, version and load models by name and version or alias."""

    @abstractmethod
    def save(
        self,
        name: str,
        model: Any,
        *,
        params: dict[str, Any] | None = None,
        metrics: dict[str, float] | None = None,
        data_snapshot: str | None = None,
        features: list[str] | None = None,
    ) -> ModelRef:
        """Persist a new version of ``name``; returns its ``ModelRef``."""

    @abstractmethod
    def load(self, name: str, *, version: str | None = None, alias: str | None = None) -> Any:
        """Load a version (or the version an alias points to; latest if neither)."""

    @abstractmethod
    def info(
        self, name: str, *, version: str | None = None, alias: str | None = None
    ) -> ModelVersionInfo:
        """Metadata of one version."""

    @abstractmethod
    def versions(self, name: str) -> list[ModelVersionInfo]:
        """All versions of a model, oldest first."""

    @abstractmethod
    def set_alias(self, name: str, alias: str, version: str) -> None:
        """Point ``alias`` (e.g. champion) at ``version``."""

    @abstractmethod
    def delete_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""

    @abstractmethod
    def models(self) -> list[str]:
        """Registered model names."""

    @abstractmethod
    def aliases(self, name: str) -> dict[str, str]:
        """Alias -> version for one model."""

    @abstractmethod
    def attach(self, name: str, version: str, path: str | Path) -> None:
        """Store a file beside a version (its drift reference, an evaluation report)."""

    @abstractmethod
    def attachment(self, name: str, version: str, filename: str) -> Path:
        """Local path of a file attached with ``attach``; ``NotFound`` if absent."""
