"""Helpers for tests that drive the API: bearer headers, draining the pipeline."""

from __future__ import annotations

from agora.bus.base import Topics
from agora.bus.consumer import Consumer, SqlIdempotencyLedger
from agora.pipeline.runner import PipelineRunner
from agora.runtime import Platform


def bearer(token: str) -> dict[str, str]:
    """``Authorization`` header for an API key."""
    return {"Authorization": f"Bearer {token}"}


def drain_pipeline(platform: Platform, group: str = "pipeline") -> int:
    """Process every queued ``asset.uploaded`` event in the calling thread."""
    consumer = Consumer(
        platform.bus,
        Topics.ASSET_UPLOADED,
        group,
        PipelineRunner(platform).handle,
        name="test-pipeline",
        settings=platform.settings.bus,
        ledger=SqlIdempotencyLedger(platform.db),
    )
    total = 0
    while (n := consumer.run_once(50, block_ms=0)) > 0:
        total += n
    return total
