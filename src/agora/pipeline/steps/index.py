"""Pipeline step ``index``: put the asset into the search indexes.

Runs after ``integrity``: writes the keyword document, then embeds title +
description + tags (passage side of the text encoder) and each decodable image
(features + ConSE vector). Over a batch it makes one text-encoder call and one
image-encoder call for every asset of the batch (``run_batch``). The asset is
indexed while still pending: search decides visibility against the catalog at
query time, so it shows up only once it turns active, and never while flagged
or banned.

The step never holds an asset: an unreadable image is skipped and reported
in the output; an encoder or index failure is recorded as the step's error
(the pipeline keeps going), and ``agora index rebuild`` repairs it later.

Example:
    >>> IndexStep(lambda: backends).model  # doctest: +SKIP
    'index@1.0'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
        result = self.run_batch([ctx])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def run_batch(self, ctxs: Sequence[StepContext]) -> list[StepOutcome | Exception]:
        """Index the batch: keyword documents, then one text-encoder call and one
        image-encoder call for all of it. An unreadable image is its asset's
        ``image_errors``; an index or encoder failure raises (each asset is then
        retried alone by the runner)."""
        if not ctxs:
            return []
        indexer = AssetIndexer(self.backends(), ctxs[0].blobs)
        summaries = indexer.index_each([ctx.asset for ctx in ctxs])
        return [StepOutcome(output=summary, confidence=1.0) for summary in summaries]
