"""Process the demo's uploads in the calling process: the post-upload pipeline, drained.

``agora demo`` runs the pipeline (integrity, moderation, indexing, tagging, ...)
on its own uploads before it trains anything, because ranked search can only
learn from searches over an indexed, active catalog. The consumer is the
worker's (same group, same idempotency ledger), so ``agora serve`` finds
nothing left to do and would skip a redelivered event.

Example:
    >>> process_uploads(platform.pipeline_runner())  # doctest: +SKIP
    48
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agora.pipeline.runner import PipelineRunner


def process_uploads(runner: PipelineRunner, on_asset: Callable[[int], None] | None = None) -> int:
    """Run the pipeline on every queued upload; returns how many were processed."""
    consumer = runner.consumer("demo-pipeline")
    total = 0
    # One at a time: each delivery is a progress step, and the steps use both cores.
    while (n := consumer.run_once(1, block_ms=0)) > 0:
        total += n
        if on_asset is not None:
            on_asset(n)
    return total
