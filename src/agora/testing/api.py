"""Helpers for tests that drive the API: bearer headers, draining the pipeline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from agora.pipeline.runner import PIPELINE_GROUP

if TYPE_CHECKING:
    from agora.pipeline.runner import PipelineRunner


class PipelineHost(Protocol):
    """Whatever builds the post-upload pipeline (the composition root)."""

    def pipeline_runner(self) -> PipelineRunner: ...


def bearer(token: str) -> dict[str, str]:
    """``Authorization`` header for an API key."""
    return {"Authorization": f"Bearer {token}"}


def drain_pipeline(host: PipelineHost, group: str = PIPELINE_GROUP) -> int:
    """Process every queued ``asset.uploaded`` event in the calling thread."""
    consumer = host.pipeline_runner().consumer("test-pipeline", group=group)
    total = 0
    while (n := consumer.run_once(50, block_ms=0)) > 0:
        total += n
    return total
