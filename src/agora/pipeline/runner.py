"""Runs the post-upload pipeline over a batch of jobs, idempotently, each asset on its own.

The worker hands ``run_many`` up to ``pipeline.batch_max_assets`` jobs at once;
each step runs once over the whole batch (``Step.run_batch``: one encoder call
for every text of the batch, one for every image) and each asset's result is
recorded in ``processing_results`` under a unique (job, step) key in its own
transaction: a redelivered job (after a worker died) skips what was recorded
and re-runs only what was not, so no step is applied twice. A step that fails
on one asset's content records that asset's error (and holds it when the
step may hold); its batch-mates are not affected, and the asset record is
never lost.

Holding steps run first: once they have all recorded and none held, the
asset turns active (``agora.pipeline.settle.activate_early``) and is
keyword-searchable while embedding and tagging finish.

Example:
    >>> runner = platform.pipeline_runner()  # doctest: +SKIP
    >>> runner.run_many([("a-1", "job-1"), ("a-2", "job-2")])  # doctest: +SKIP
    {'job-1': None, 'job-2': None}
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from agora.bus.base import Event, Topics
from agora.catalog.views import asset_view
from agora.ops.interactive import yield_to_interactive
from agora.ops.metrics import PIPELINE_STEP_LATENCY
from agora.pipeline.base import Step, StepContext, StepOutcome
from agora.pipeline.settle import activate_early, activate_early_many, settle, settle_many
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


def asset_size(asset: dict[str, Any]) -> int:
    """What an asset weighs in a batch: its text's characters plus its images' bytes."""
    text = len(str(asset.get("title") or "")) + len(str(asset.get("description") or ""))
    return text + sum(int(ref.get("size") or 0) for ref in asset.get("images") or [])


class _Job:
    """One job of a batch: its asset, the results recorded so far."""

    def __init__(self, job_id: str, asset: dict[str, Any], done: dict[str, ProcessingResultRow]):
        self.job_id, self.asset, self.done = job_id, asset, done
        self.activated = False

    @property
    def asset_id(self) -> str:
        return str(self.asset["id"])


class PipelineRunner:
    """Executes the step DAG for ``asset.uploaded`` events, in batches."""

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
        self._holding = [s.name for s in steps if s.can_hold]

    def consumer(
        self, name: str, *, group: str = PIPELINE_GROUP, ledger: IdempotencyLedger | None = None
    ) -> Consumer:
        """A bus consumer of ``asset.uploaded`` that runs this pipeline over batches of
        deliveries (the worker's, the demo's and the tests' all read the same group
        with the same ledger)."""
        from agora.bus.consumer import Consumer, SqlIdempotencyLedger

        return Consumer(
            self.bus,
            Topics.ASSET_UPLOADED,
            group,
            self.handle,
            name=name,
            settings=self.settings.bus,
            ledger=ledger or SqlIdempotencyLedger(self.db),
            batch_handler=self.handle_many,
            linger_ms=self.settings.pipeline.batch_linger_ms,
        )

    def handle(self, event: Event) -> None:
        """Bus handler for one ``asset.uploaded``."""
        self.run(str(event.payload["asset_id"]), str(event.payload["job_id"]))

    def handle_many(self, events: Sequence[Event]) -> list[Exception | None]:
        """Batch bus handler: one entry per event, the exception its job failed with."""
        pairs = [(str(e.payload["asset_id"]), str(e.payload["job_id"])) for e in events]
        errors = self.run_many(pairs)
        return [errors.get(job_id) for _, job_id in pairs]

    def run(self, asset_id: str, job_id: str) -> None:
        """Run every step not yet recorded for ``job_id``, then settle the asset."""
        error = self.run_many([(asset_id, job_id)]).get(job_id)
        if error is not None:
            raise error

    def run_many(self, pairs: Sequence[tuple[str, str]]) -> dict[str, Exception | None]:
        """Run a batch of (asset, job) pairs; returns each job's failure (None: settled).

        A failure here is the catalog's or the bus's (a step's is recorded as its
        result): the caller retries that job's delivery alone."""
        jobs = self._load(pairs)
        errors: dict[str, Exception | None] = {job_id: None for _, job_id in pairs}
        limit = self.settings.pipeline.batch_max_bytes
        chunk: list[_Job] = []
        size = 0
        for job in jobs:
            weight = asset_size(job.asset)
            if chunk and size + weight > limit:
                errors |= self._run_chunk(chunk)
                chunk, size = [], 0
            chunk.append(job)
            size += weight
        if chunk:
            errors |= self._run_chunk(chunk)
        return errors

    def _load(self, pairs: Sequence[tuple[str, str]]) -> list[_Job]:
        with self.db.session() as s:
            assets = {r.id: asset_view(r) for r in s.scalars(
                select(AssetRow).where(AssetRow.id.in_({a for a, _ in pairs})))}  # fmt: skip
            live = {r.id for r in s.scalars(
                select(JobRow).where(JobRow.id.in_({j for _, j in pairs}))
            ) if r.status not in TERMINAL}  # fmt: skip
        recorded = self._recorded([j for _, j in pairs])
        out: list[_Job] = []
        for asset_id, job_id in pairs:
            if job_id not in live:
                continue  # finished (or cancelled) already: a duplicate delivery
            if asset_id not in assets:
                self.jobs.finish(job_id, error=f"asset {asset_id!r} no longer exists")
                continue
            out.append(_Job(job_id, assets[asset_id], recorded.get(job_id, {})))
        self.jobs.start_many([j.job_id for j in out])
        return out

    def _recorded(self, job_ids: Sequence[str]) -> dict[str, dict[str, ProcessingResultRow]]:
        out: dict[str, dict[str, ProcessingResultRow]] = {}
        with self.db.session() as s:
            rows = s.scalars(
                select(ProcessingResultRow).where(ProcessingResultRow.job_id.in_(set(job_ids)))
            )
            for r in rows:
                out.setdefault(r.job_id, {})[r.step] = r
        return out

    def _run_chunk(self, batch: list[_Job]) -> dict[str, Exception | None]:
        errors: dict[str, Exception | None] = {}
        total = len(self.steps)
        for i, step in enumerate(self.steps):
            todo = [j for j in batch if step.name not in j.done and j.job_id not in errors]
            if todo:
                yield_to_interactive(self.settings.pipeline.yield_max_ms / 1000)
                results = self._execute(step, [self._context(step, j) for j in todo])
                errors |= self._record_many(todo, step, results)
            going = [j for j in batch if j.job_id not in errors]
            try:
                self.jobs.progress_many(
                    [j.job_id for j in going], 100.0 * (i + 1) / total, f"{step.name} done"
                )
            except Exception as exc:  # noqa: BLE001
                errors |= {j.job_id: exc for j in going}
                continue
            self._activate(going, errors)
        going = [j for j in batch if j.job_id not in errors]
        try:
            settle_many(
                self.db, self.audit, self.bus, self.jobs,
                [(j.asset_id, j.job_id, j.done) for j in going],
            )  # fmt: skip
        except Exception:  # noqa: BLE001
            for job in going:  # each alone, so only the failing ones retry
                try:
                    settle(
                        self.db, self.audit, self.bus, self.jobs, job.asset_id, job.job_id, job.done
                    )
                except Exception as exc:  # noqa: BLE001
                    errors[job.job_id] = exc
        return errors

    def _context(self, step: Step, job: _Job) -> StepContext:
        wanted = (*step.requires, *step.after)
        upstream = {r: job.done[r].output for r in wanted if r in job.done}
        return StepContext(
            asset=job.asset, blobs=self.blobs, settings=self.settings, upstream=upstream
        )

    def _activate(self, going: list[_Job], errors: dict[str, Exception | None]) -> None:
        """Activate early the jobs whose holding steps have all recorded, none held."""
        ready = [
            j for j in going
            if not j.activated and all(name in j.done for name in self._holding)
        ]  # fmt: skip
        for job in ready:
            job.activated = True
        ready = [j for j in ready if not any(r.hold for r in j.done.values())]
        try:
            activate_early_many(self.db, self.audit, [(j.asset_id, j.job_id) for j in ready])
        except Exception:  # noqa: BLE001
            for job in ready:
                try:
                    activate_early(self.db, self.audit, job.asset_id, job.job_id)
                except Exception as exc:  # noqa: BLE001
                    errors[job.job_id] = exc

    def _execute(self, step: Step, ctxs: list[StepContext]) -> list[tuple[StepOutcome, float]]:
        t0 = time.perf_counter()
        try:
            results = step.run_batch(ctxs)
            if len(results) != len(ctxs):
                raise RuntimeError(f"{len(results)} results for {len(ctxs)} assets")
        # A step bug in its batch path (plugins included): each asset alone, so one
        # bad asset cannot take its batch-mates down.
        except Exception as exc:  # noqa: BLE001
            log.warning("step %s failed on a batch of %d: %s", step.name, len(ctxs), exc)
            results = [r for ctx in ctxs for r in Step.run_batch(step, [ctx])]
        per_asset = (time.perf_counter() - t0) / max(len(ctxs), 1)
        out: list[tuple[StepOutcome, float]] = []
        for ctx, result in zip(ctxs, results, strict=True):
            status = "ok"
            if isinstance(result, Exception):
                log.warning("step %s failed on asset %s: %s", step.name, ctx.asset["id"], result)
                status = "error"
                result = StepOutcome(
                    output={"error": f"{type(result).__name__}: {result}"},
                    hold=step.can_hold,
                    reason=f"{step.name} failed: {result}",
                )
            PIPELINE_STEP_LATENCY.labels(step.name, status).observe(per_asset)
            out.append((result, per_asset * 1000))
        return out

    def _record_many(
        self, todo: list[_Job], step: Step, results: list[tuple[StepOutcome, float]]
    ) -> dict[str, Exception]:
        """Record one step's results for a batch in one transaction (a commit per
        asset and step was most of a short text's processing time); when that
        fails (a batch-mate recorded by another worker meanwhile, or the catalog
        refused one row) each is recorded alone, so only the failing jobs retry."""
        rows = [
            self._row(job, step, outcome, ms)
            for job, (outcome, ms) in zip(todo, results, strict=True)
        ]
        try:
            with self.db.session() as s:
                s.add_all(rows)
        except Exception:  # noqa: BLE001
            errors: dict[str, Exception] = {}
            for job, (outcome, ms) in zip(todo, results, strict=True):
                try:
                    job.done[step.name] = self._record(job, step, outcome, ms)
                # The catalog failed for this job: retried alone, the others go on.
                except Exception as exc:  # noqa: BLE001
                    errors[job.job_id] = exc
            return errors
        for job, row in zip(todo, rows, strict=True):
            job.done[step.name] = row
        return {}

    def _row(
        self, job: _Job, step: Step, outcome: StepOutcome, duration_ms: float
    ) -> ProcessingResultRow:
        return ProcessingResultRow(
            asset_id=job.asset_id,
            job_id=job.job_id,
            step=step.name,
            model=step.model,
            output=outcome.output | ({"reason": outcome.reason} if outcome.reason else {}),
            confidence=outcome.confidence,
            hold=outcome.hold and step.can_hold,
            duration_ms=duration_ms,
            worker=self.worker_name,
        )

    def _record(
        self, job: _Job, step: Step, outcome: StepOutcome, duration_ms: float
    ) -> ProcessingResultRow:
        row = self._row(job, step, outcome, duration_ms)
        try:
            with self.db.session() as s:
                s.add(row)
        except IntegrityError:
            # Another worker recorded this step first (it was redelivered while
            # we ran): keep the first result, never apply twice.
            return self._recorded([job.job_id])[job.job_id][step.name]
        return row
