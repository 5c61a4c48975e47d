"""Runs the post-upload pipeline for one job, idempotently.

Each step's result is recorded in ``processing_results`` under a unique
(job, step) key in its own transaction: a redelivered job (after a worker
died) skips what was recorded and re-runs only what was not, so no step is
applied twice. A step that fails on bad content records the error (and holds
the asset when the step may hold); the asset record is never lost.

Example:
    >>> runner = platform.pipeline_runner()  # doctest: +SKIP
    >>> runner.handle(event)  # an asset.uploaded event  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from agora.bus.base import Event, Topics
from agora.catalog.views import asset_view
from agora.domain import AssetStatus
from agora.ops.metrics import PIPELINE_STEP_LATENCY
from agora.pipeline.base import Step, StepContext, StepOutcome
from agora.storage.database import rowcount
from agora.storage.jobs import TERMINAL
from agora.storage.tables import AssetRow, JobRow, ProcessingResultRow

if TYPE_CHECKING:
    from agora.blobs.base import BlobStore
    from agora.bus.base import EventBus
    from agora.bus.consumer import Consumer, IdempotencyLedger
    from agora.config import Settings
    from agora.governance.audit import AuditLog
    from agora.storage.database import Database
    from agora.storage.jobs import JobStore

log = logging.getLogger("agora.pipeline")
PIPELINE_GROUP = "pipeline"  # the consumer group that runs the pipeline on asset.uploaded


class PipelineRunner:
    """Executes the step DAG for ``asset.uploaded`` events."""

    def __init__(
        self,
        steps: list[Step],
        *,
        db: Database,
        jobs: JobStore,
        audit: AuditLog,
        bus: EventBus,
        blobs: BlobStore,
        settings: Settings,
    ) -> None:
        """``steps`` in run order (``discover_steps``); the catalog, job store, audit
        log and bus it records and announces results with; what steps see."""
        self.steps = steps
        self.db, self.jobs, self.audit, self.bus = db, jobs, audit, bus
        self.blobs, self.settings = blobs, settings
        self.worker_name = f"{socket.gethostname()}:{os.getpid()}"

    def consumer(
        self, name: str, *, group: str = PIPELINE_GROUP, ledger: IdempotencyLedger | None = None
    ) -> Consumer:
        """A bus consumer of ``asset.uploaded`` that runs this pipeline (the worker's,
        the demo's and the tests' all read the same group with the same ledger)."""
        from agora.bus.consumer import Consumer, SqlIdempotencyLedger

        return Consumer(
            self.bus,
            Topics.ASSET_UPLOADED,
            group,
            self.handle,
            name=name,
            settings=self.settings.bus,
            ledger=ledger or SqlIdempotencyLedger(self.db),
        )

    def handle(self, event: Event) -> None:
        """Bus handler for ``asset.uploaded``."""
        self.run(str(event.payload["asset_id"]), str(event.payload["job_id"]))

    def _recorded(self, job_id: str) -> dict[str, ProcessingResultRow]:
        with self.db.session() as s:
            rows = s.scalars(
                select(ProcessingResultRow).where(ProcessingResultRow.job_id == job_id)
            )
            return {r.step: r for r in rows}

    def _execute(self, step: Step, ctx: StepContext) -> tuple[StepOutcome, float]:
        t0 = time.perf_counter()
        try:
            outcome = step.run(ctx)
            status = "ok"
        # Bad content or a step bug (plugins included) must not kill the worker.
        except Exception as exc:  # noqa: BLE001
            log.warning("step %s failed on asset %s: %s", step.name, ctx.asset["id"], exc)
            outcome = StepOutcome(
                output={"error": f"{type(exc).__name__}: {exc}"},
                hold=step.can_hold,
                reason=f"{step.name} failed: {exc}",
            )
            status = "error"
        elapsed = time.perf_counter() - t0
        PIPELINE_STEP_LATENCY.labels(step.name, status).observe(elapsed)
        return outcome, elapsed * 1000

    def _record(
        self, asset_id: str, job_id: str, step: Step, outcome: StepOutcome, duration_ms: float
    ) -> ProcessingResultRow:
        row = ProcessingResultRow(
            asset_id=asset_id,
            job_id=job_id,
            step=step.name,
            model=step.model,
            output=outcome.output | ({"reason": outcome.reason} if outcome.reason else {}),
            confidence=outcome.confidence,
            hold=outcome.hold and step.can_hold,
            duration_ms=duration_ms,
            worker=self.worker_name,
        )
        try:
            with self.db.session() as s:
                s.add(row)
        except IntegrityError:
            # Another worker recorded this step first (it was redelivered while
            # we ran): keep the first result, never apply twice.
            return self._recorded(job_id)[step.name]
        return row

    def run(self, asset_id: str, job_id: str) -> None:
        """Run every step not yet recorded for ``job_id``, then settle the asset."""
        jobs = self.jobs
        with self.db.session() as s:
            row = s.get(AssetRow, asset_id)
            job = s.get(JobRow, job_id)
            if job is None or job.status in TERMINAL:
                return  # finished (or cancelled) already: a duplicate delivery
            asset = asset_view(row) if row is not None else None
        if asset is None:
            jobs.finish(job_id, error=f"asset {asset_id!r} no longer exists")
            return
        jobs.start(job_id)
        done = self._recorded(job_id)
        total = len(self.steps)
        for i, step in enumerate(self.steps):
            if step.name not in done:
                upstream = {r: done[r].output for r in step.requires if r in done}
                ctx = StepContext(
                    asset=asset,
                    blobs=self.blobs,
                    settings=self.settings,
                    upstream=upstream,
                )
                outcome, ms = self._execute(step, ctx)
                done[step.name] = self._record(asset_id, job_id, step, outcome, ms)
            jobs.progress(job_id, 100.0 * (i + 1) / max(total, 1), f"{step.name} done")
        self._settle(asset_id, job_id, done)

    def _settle(self, asset_id: str, job_id: str, done: dict[str, ProcessingResultRow]) -> None:
        holds = [r.output.get("reason") or r.step for r in done.values() if r.hold]
        models = {name: r.model for name, r in done.items()}
        # A step may mark its hold as a clear violation (``output.block``): the
        # asset is then blocked outright rather than queued as merely flagged.
        blocked = any(r.hold and r.output.get("block") for r in done.values())
        if blocked:
            target = AssetStatus.BANNED.value
        else:
            target = (AssetStatus.FLAGGED if holds else AssetStatus.ACTIVE).value
        with self.db.session() as s:
            # Compare-and-set: only a pending asset moves, so a ban or removal
            # decided meanwhile wins, and of two workers settling the same job
            # (a reclaimed delivery) only one transition happens and is audited.
            result = s.execute(
                update(AssetRow)
                .where(AssetRow.id == asset_id, AssetRow.status == AssetStatus.PENDING.value)
                .values(status=target, processed_at=datetime.now(UTC))
            )
            moved = rowcount(result)
            status = s.scalar(select(AssetRow.status).where(AssetRow.id == asset_id))
            if status is None:
                return
            if moved:
                self.audit.record(
                    "pipeline",
                    "asset.processed",
                    "asset",
                    asset_id,
                    model=",".join(sorted(models.values())),
                    details={"job_id": job_id, "status": status, "holds": holds},
                    session=s,
                )
        summary: dict[str, Any] = {
            "asset_id": asset_id,
            "status": status,
            "steps": models,
            "holds": holds,
        }
        # Publish before finishing the job, with an id derived from the job: a
        # crash in between redelivers the job, which publishes the same event
        # again, and consumers drop the duplicate by id. Nothing is lost.
        self.bus.publish(
            Event(
                Topics.ASSET_PROCESSED,
                summary | {"job_id": job_id},
                id=f"{job_id}-processed",
                key=asset_id,
            )
        )
        self.jobs.finish(job_id, result=summary)
