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
    >>> IndexStep().model
    'index@1.0'
"""

from __future__ import annotations

from agora.pipeline.base import Step, StepContext, StepOutcome
from agora.search.backends import backends_for
from agora.search.indexer import AssetIndexer


class IndexStep(Step):
    """Embeds and indexes the asset for keyword, semantic and visual search."""

    name = "index"
    version = "1.0"
    requires = ("integrity",)

    def run(self, ctx: StepContext) -> StepOutcome:
        """Index the asset; the output lists the models used and image errors."""
        indexer = AssetIndexer(backends_for(ctx.settings), ctx.blobs)
        summary = indexer.index(ctx.asset)
        return StepOutcome(output=summary, confidence=1.0)
