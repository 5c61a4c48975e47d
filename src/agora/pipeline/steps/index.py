"""Pipeline step ``index``: put the asset into the search indexes.

Runs after ``integrity``: embeds title + description + tags (passage side of
the text encoder), each decodable image (features + ConSE vector), and writes
the keyword document. The asset is indexed while still pending: search
decides visibility against the catalog at query time, so it shows up only
once it turns active, and never while flagged or banned.

The step never holds an asset: an unreadable image is skipped and reported
in the output; an encoder or index failure is recorded as the step's error
(the pipeline keeps going), and ``agora index rebuild`` repairs it later.

Example:
    >>> IndexStep(lambda: backends).model  # doctest: +SKIP
    'index@1.0'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Self

from agora.pipeline.base import Step, StepContext, StepOutcome, StepServices
from agora.search.indexer import AssetIndexer

if TYPE_CHECKING:
    from agora.search.backends import SearchBackends


class IndexStep(Step):
    """Embeds and indexes the asset for keyword, semantic and visual search."""

    name = "index"
    version = "1.0"
    requires = ("integrity",)

    def __init__(self, backends: Callable[[], SearchBackends]) -> None:
        """``backends``: the process's search backends (the API's search shares them)."""
        self.backends = backends

    @classmethod
    def from_services(cls, services: StepServices) -> Self:
        return cls(services.search_backends)

    def run(self, ctx: StepContext) -> StepOutcome:
        """Index the asset; the output lists the models used and image errors."""
        indexer = AssetIndexer(self.backends(), ctx.blobs)
        summary = indexer.index(ctx.asset)
        return StepOutcome(output=summary, confidence=1.0)
