"""Post-upload pipeline step contract.

A step declares its name, version, the steps it needs (a small DAG) and
whether it may hold the asset for review. ``run`` is pure with respect to the
catalog: it returns a ``StepOutcome`` and the runner records it atomically,
once per (job, step), so a redelivered job never applies a step twice.

Steps are discovered through the ``agora.steps`` entry-point group and built
with their dependencies by ``Step.from_services`` (a step that needs none keeps
the default, ``cls()``); ``StepServices`` is what the composition root offers.

Batches: the worker hands a step several assets at once through
``run_batch(ctxs)``, which returns one entry per context, in order: the
``StepOutcome`` of that asset or the ``Exception`` it failed with. The default
loops over ``run`` (catching per asset), so a step that gains nothing from
batching writes ``run`` only. A step whose work is a model call overrides
``run_batch`` to make one call for the whole batch (every text in one encoder
call, every image in another) and must still settle each asset on its own:
a corrupt image or an ``InvalidInput`` of one asset is that asset's entry,
never an exception out of ``run_batch`` (if ``run_batch`` raises anyway, the
runner retries each asset alone with ``run``). ``run`` and ``run_batch`` must
give the same outcome for the same asset; later steps (duplicates, 3D checks,
a malware scan) copy this shape.

Example:
    >>> class Shout(Step):
    ...     name, version = "shout", "1"
    ...     def run(self, ctx: StepContext) -> StepOutcome:
    ...         return StepOutcome(output={"title": ctx.asset["title"].upper()})
    >>> ctxs = [StepContext({"title": "tank"}, None, None), StepContext({}, None, None)]
    >>> [type(r).__name__ for r in Shout().run_batch(ctxs)]  # doctest: +SKIP
    ['StepOutcome', 'KeyError']
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Self

if TYPE_CHECKING:
    from agora.blobs.base import BlobStore
    from agora.config import Settings
    from agora.moderation.service import ModerationService
    from agora.search.backends import SearchBackends
    from agora.storage.database import Database
    from agora.tagging.service import TaggingService


@dataclass(frozen=True)
class StepServices:
    """The process's services a step may be built with. Each is a getter: the
    service (and its models) loads when a step first runs, not when the worker
    starts, and every step of the process shares the one instance (one pool)."""

    settings: Settings
    blobs: BlobStore
    search_backends: Callable[[], SearchBackends]
    moderation: Callable[[], ModerationService]
    tagging: Callable[[], TaggingService]
    # The catalog, for steps that compare an asset with the others (duplicates).
    database: Callable[[], Database] | None = None


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

    @classmethod
    def from_services(cls, services: StepServices) -> Self:
        """This step built with what it uses from ``services`` (default: nothing)."""
        return cls()

    @property
    def model(self) -> str:
        """``name@version`` recorded with every result."""
        return f"{self.name}@{self.version}"

    @abstractmethod
    def run(self, ctx: StepContext) -> StepOutcome:
        """Compute the step's result; raise ``agora.errors.InvalidInput`` for bad
        content (recorded, never crashes the worker)."""

    def run_batch(self, ctxs: Sequence[StepContext]) -> list[StepOutcome | Exception]:
        """One result per context, in order: its outcome or the exception it
        raised. Default: ``run`` on each; override to share model calls."""
        results: list[StepOutcome | Exception] = []
        for ctx in ctxs:
            try:
                results.append(self.run(ctx))
            # One asset's failure is its own entry: the others still get theirs.
            except Exception as exc:  # noqa: BLE001
                results.append(exc)
        return results
