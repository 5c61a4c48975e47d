"""The ``optimizations`` consumer group: runs optimisation jobs from the bus.

A delivery names a job. The worker claims the job row with a compare-and-set
(``queued`` -> ``running``, or ``running`` whose progress stopped moving for
``stale_after_s``: its worker died), so two workers never run one job at
once even when the bus redelivers a long job past its visibility timeout; a
delivery for a job another live worker holds is acked and left to it (and the
stalled-job sweeper re-publishes it if that worker dies later).

Outputs are versioned: ``version = digest(source sha256, operation, options,
model@version)``. Every file is stored as a derived blob of the source under
that version, then one ``derivatives`` row is inserted (unique per asset,
operation and version). A worker killed midway leaves at most files under the
same keys, which the next worker overwrites with the same content; a job done
twice records one version. Progress checks cancellation: a cancelled job
stops at its next step without storing anything.

Example:
    >>> handler = OptimizationWorker(db, jobs, blobs, settings.processing, name="w1")
    ... # doctest: +SKIP
    >>> Consumer(bus, Topics.ASSET_OPTIMIZATION_REQUESTED, OPTIMIZE_GROUP, handler.handle, ...)
    ... # doctest: +SKIP
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from agora.blobs.base import BlobStore
from agora.bus.base import Event, EventBus, Topics
from agora.config import ProcessingSettings
from agora.errors import AgoraError, InvalidInput, NotFound
from agora.processing.jobs import OPTIMIZE_GROUP, OPTIMIZE_JOB
from agora.processing.operations import OperationResult, run_operation
from agora.processing.options import OptimizationSpec, digest
from agora.storage.database import Database, rowcount
from agora.storage.jobs import JobStatus, JobStore
from agora.storage.tables import DerivativeRow, JobRow

log = logging.getLogger(__name__)


class JobCancelled(AgoraError):
    """The job was cancelled while it ran."""


class OptimizationWorker:
    """Handles ``asset.optimization.requested`` events for one consumer."""

    def __init__(
        self,
        db: Database,
        jobs: JobStore,
        blobs: BlobStore,
        settings: ProcessingSettings,
        *,
        name: str,
    ) -> None:
        self.db, self.jobs, self.blobs, self.settings, self.name = db, jobs, blobs, settings, name

    # -- claiming ------------------------------------------------------------------
    def claim(self, job_id: str) -> bool:
        """Take the job if it is queued, or running with a stale heartbeat."""
        now = datetime.now(UTC)
        stale = now - timedelta(seconds=self.settings.stale_after_s)
        with self.db.session() as s:
            won = s.execute(
                update(JobRow)
                .where(
                    JobRow.id == job_id,
                    or_(
                        JobRow.status == JobStatus.QUEUED.value,
                        (JobRow.status == JobStatus.RUNNING.value) & (JobRow.updated_at < stale),
                    ),
                )
                .values(
                    status=JobStatus.RUNNING.value,
                    started_at=now,
                    message=f"claimed by {self.name}",
                    updated_at=now,
                )
            )
        return rowcount(won) == 1

    def _progress(self, job_id: str) -> Any:
        def report(percent: float, message: str) -> None:
            if self.jobs.get(job_id)["status"] == JobStatus.CANCELLED.value:
                raise JobCancelled(f"job {job_id} was cancelled")
            self.jobs.progress(job_id, percent, message)

        return report

    # -- the handler ----------------------------------------------------------------
    def handle(self, event: Event) -> None:
        """Run the job the event names (a bus handler: an exception means retry)."""
        job_id = str(event.payload.get("job_id", ""))
        try:
            job = self.jobs.get(job_id)
        except NotFound:
            log.warning("optimisation event %s names no job %r", event.id, job_id)
            return
        if job["kind"] != OPTIMIZE_JOB or job["status"] in ("succeeded", "failed", "cancelled"):
            return
        if not self.claim(job_id):
            return  # another live worker holds it
        params = job["params"]
        try:
            result = self.run(job_id, params)
        except JobCancelled:
            log.info("optimisation %s cancelled", job_id)
            return
        except InvalidInput as exc:  # bad input is final: retrying cannot help
            self.jobs.finish(job_id, error=f"{type(exc).__name__}: {exc}")
            return
        except Exception:
            # Give the job back to the queue so the bus's retry (or another
            # worker) can claim it at once, then let the consumer retry.
            with self.db.session() as s:
                s.execute(
                    update(JobRow)
                    .where(JobRow.id == job_id, JobRow.status == JobStatus.RUNNING.value)
                    .values(status=JobStatus.QUEUED.value, message="retrying after an error")
                )
            raise
        self.jobs.finish(job_id, result=result)

    def run(self, job_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """Compute (or find) the derivative of one job; returns the job's result."""
        spec = OptimizationSpec(operation=params["operation"], options=params["options"])
        source = params["source"]
        source_sha = str(source["sha256"])
        progress = self._progress(job_id)
        progress(1.0, "reading the source")
        if int(source.get("size") or 0) > self.settings.max_source_bytes:
            raise InvalidInput(f"the source file is over {self.settings.max_source_bytes} bytes")
        data = self.blobs.get(source_sha)
        result = run_operation(
            spec.operation,
            spec.typed(),
            data,
            str(source["kind"]),
            str(source["format"]),
            progress,
        )
        progress(92.0, "storing the outputs")
        version = digest(source_sha, spec.operation, spec.canonical_options(), result.model)
        row = self._record(job_id, params, spec, source_sha, version, result)
        return {
            "operation": spec.operation,
            "version": version,
            "model": result.model,
            "files": [f["name"] for f in row["files"]],
            "derivative_created": row["created"],
        }

    def _record(
        self,
        job_id: str,
        params: dict[str, Any],
        spec: OptimizationSpec,
        source_sha: str,
        version: str,
        result: OperationResult,
    ) -> dict[str, Any]:
        asset_id = str(params["asset_id"])
        with self.db.session() as s:
            existing = s.scalar(
                select(DerivativeRow.files).where(
                    DerivativeRow.asset_id == asset_id,
                    DerivativeRow.operation == spec.operation,
                    DerivativeRow.version == version,
                )
            )
        if existing is not None:  # done before (a redelivery after the commit)
            return {"files": existing, "created": False}
        previous = {(k, v): ref.sha256 for k, v, ref in self.blobs.list_derived(source_sha)}
        files = []
        for out in result.files:
            kind = f"{spec.operation}-{out.name}"
            ref = self.blobs.put_derived(
                source_sha, kind, version, out.data, media_type=out.media_type
            )
            stale = previous.get((kind, version))
            if stale is not None and stale != ref.sha256:
                # A killed run wrote different bytes under this key (a non-bit-exact
                # net): its object is no longer referenced by any record.
                self.blobs.delete(stale)
            files.append(
                {
                    "name": out.name,
                    "sha256": ref.sha256,
                    "size": ref.size,
                    "media_type": ref.media_type,
                }
            )
        try:
            with self.db.session() as s:
                s.add(
                    DerivativeRow(
                        asset_id=asset_id,
                        asset_revision=int(params.get("asset_revision") or 1),
                        source_sha256=source_sha,
                        operation=spec.operation,
                        version=version,
                        options=spec.options,
                        model=result.model,
                        files=files,
                        meta=result.meta,
                        job_id=job_id,
                    )
                )
        except IntegrityError:  # another worker recorded the same version first
            return {"files": files, "created": False}
        return {"files": files, "created": True}


def republish_stale_optimizations(
    db: Database, bus: EventBus, settings: ProcessingSettings, *, limit: int = 200
) -> int:
    """Re-publish optimisation jobs that stopped moving: queued ones whose event
    was lost, running ones whose worker died after another delivery was acked."""
    if bus.depth(Topics.ASSET_OPTIMIZATION_REQUESTED, OPTIMIZE_GROUP) > 0:
        return 0  # events are still waiting: they will reach a worker
    cutoff = datetime.now(UTC) - timedelta(seconds=settings.stale_after_s)
    with db.session() as s:
        stalled = list(
            s.execute(
                select(JobRow.id, JobRow.subject_id)
                .where(
                    JobRow.kind == OPTIMIZE_JOB,
                    JobRow.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]),
                    JobRow.updated_at < cutoff,
                )
                .limit(limit)
            )
        )
    if stalled:
        bus.publish_many(
            [
                Event(Topics.ASSET_OPTIMIZATION_REQUESTED, {"job_id": job_id}, key=asset_id)
                for job_id, asset_id in stalled
            ]
        )
    return len(stalled)
