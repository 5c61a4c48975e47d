"""Domain entities and enumerations.

Example:
    >>> ModelRef.parse("integrity@1.0").version
    '1.0'
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AssetStatus(StrEnum):
    """Lifecycle of an asset; the catalog is the single source of truth."""

    PENDING = "pending"
    ACTIVE = "active"
    FLAGGED = "flagged"
    BANNED = "banned"
    REMOVED = "removed"


class JobStatus(StrEnum):
    """Lifecycle of a background job (pipeline run, import, training)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def ended(self) -> bool:
        """Whether the job will not change any more."""
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class InteractionType(StrEnum):
    """The only accepted user event types."""

    IMPRESSION = "impression"
    VIEW = "view"
    CLICK = "click"
    FAVORITE = "favorite"
    ADD_TO_CART = "add_to_cart"
    PURCHASE = "purchase"
    SKIP = "skip"


INTERACTION_TYPES: frozenset[str] = frozenset(t.value for t in InteractionType)


class Scope(StrEnum):
    """API key scopes, a hierarchy: ``admin`` > ``moderator`` > ``write`` > ``read``.

    A key holding a scope may do everything a lower scope allows:

    >>> Scope.MODERATOR.implies(Scope.WRITE), Scope.WRITE.implies(Scope.MODERATOR)
    (True, False)
    """

    READ = "read"
    WRITE = "write"
    MODERATOR = "moderator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Position in the hierarchy (read = 0)."""
        return _SCOPE_ORDER.index(self)

    def implies(self, other: Scope) -> bool:
        """Whether holding this scope grants ``other``."""
        return self.rank >= other.rank


_SCOPE_ORDER: tuple[Scope, ...] = (Scope.READ, Scope.WRITE, Scope.MODERATOR, Scope.ADMIN)


@dataclass(frozen=True, order=True)
class ModelRef:
    """A model (or deterministic step) identity, written ``name@version``."""

    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        """Parse ``name@version``."""
        name, sep, version = text.partition("@")
        if not sep or not name or not version:
            raise ValueError(f"expected name@version, got {text!r}")
        return cls(name, version)


@dataclass(frozen=True)
class ConsentFlags:
    """A user's consent; a request may narrow it but never widen it."""

    allows_ai_processing: bool = True
    allows_cloud_processing: bool = False
    allows_model_training: bool = False
    allows_personalization: bool = True
    version: int = 0

    def narrowed(self, request: dict[str, bool] | None) -> ConsentFlags:
        """Combine with a request's own consent block: each flag is the AND of both."""
        if not request:
            return self
        return ConsentFlags(
            allows_ai_processing=self.allows_ai_processing
            and bool(request.get("allows_ai_processing", True)),
            allows_cloud_processing=self.allows_cloud_processing
            and bool(request.get("allows_cloud_processing", True)),
            allows_model_training=self.allows_model_training
            and bool(request.get("allows_model_training", True)),
            allows_personalization=self.allows_personalization
            and bool(request.get("allows_personalization", True)),
            version=self.version,
        )
