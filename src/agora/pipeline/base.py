"""Post-upload pipeline step contract.

A step declares its name, version, the steps it needs (a small DAG) and
whether it may hold the asset for review. ``run`` is pure with respect to the
catalog: it returns a ``StepOutcome`` and the runner records it atomically,
once per (job, step), so a redelivered job never applies a step twice.

Steps are discovered through the ``agora.steps`` entry-point group.

Example:
    >>> class Shout(Step):
    ...     name, version = "shout", "1"
    ...     def run(self, ctx: StepContext) -> StepOutcome:
    ...         return StepOutcome(output={"title": ctx.asset["title"].upper()})
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from agora.blobs.base import BlobStore
    from agora.config import Settings


@dataclass
class StepContext:
    """What a step sees: the asset as a dict (catalog row), the blob store,
    settings, and the outputs of the steps it requires."""

    asset: dict[str, Any]
    blobs: BlobStore
    settings: Settings
    upstream: Mapping[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class StepOutcome:
    """A step's result. ``hold`` asks the pipeline to flag the asset for review."""

    output: dict[str, Any]
    confidence: float | None = None
    hold: bool = False
    reason: str | None = None


class Step(ABC):
    """One pipeline step. Subclasses set ``name`` and ``version``."""

    name: ClassVar[str]
    version: ClassVar[str]
    requires: ClassVar[tuple[str, ...]] = ()
    can_hold: ClassVar[bool] = False

    @property
    def model(self) -> str:
        """``name@version`` recorded with every result."""
        return f"{self.name}@{self.version}"

    @abstractmethod
    def run(self, ctx: StepContext) -> StepOutcome:
        """Compute the step's result; raise ``agora.errors.InvalidInput`` for bad
        content (recorded, never crashes the worker)."""
