"""Process the demo's uploads in the calling process: the post-upload pipeline, drained.

``agora demo`` runs the pipeline (integrity, moderation, indexing, tagging, ...)
on its own uploads before it trains anything, because ranked search can only
learn from searches over an indexed, active catalog. The consumer is the
worker's (same group, same idempotency ledger), so ``agora serve`` finds
nothing left to do and would skip a redelivered event.

Example:
    >>> process_uploads(platform)  # doctest: +SKIP
    48
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from agora.bus.base import Topics
from agora.bus.consumer import Consumer, SqlIdempotencyLedger
from agora.pipeline.runner import PipelineRunner

if TYPE_CHECKING:
    from agora.runtime import Platform

PIPELINE_GROUP = "pipeline"  # the workers' group for asset.uploaded


def process_uploads(platform: Platform, on_asset: Callable[[int], None] | None = None) -> int:
    """Run the pipeline on every queued upload; returns how many were processed."""
    consumer = Consumer(
        platform.bus,
        Topics.ASSET_UPLOADED,
        PIPELINE_GROUP,
        PipelineRunner(platform).handle,
        name="demo-pipeline",
        settings=platform.settings.bus,
        ledger=SqlIdempotencyLedger(platform.db),
    )
    total = 0
    # One at a time: each delivery is a progress step, and the steps use both cores.
    while (n := consumer.run_once(1, block_ms=0)) > 0:
        total += n
        if on_asset is not None:
            on_asset(n)
    return total
