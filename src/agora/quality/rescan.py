"""Re-run the quality steps over the catalog (``agora quality rescan``).

After a signature update, a new anomaly champion or a rule change, every asset
(of the chosen statuses) gets a new pipeline job of kind ``quality_rescan``
that re-runs the quality steps (``scan``, ``duplicates``, ``models3d``,
``scores`` and what they require, plus ``integrity`` and ``completeness``,
which the scores read) through the ordinary ``PipelineRunner``: the same
idempotent per-(job, step) recording, batches and error handling as uploads.
The latest results of the steps that are *not* re-run (moderation, tagging,
index) are carried into the new job first, marked ``carried`` in their
worker field, so the scores read them and the runner does not redo them.

Statuses: a rescan never silently republishes. An asset whose new scan finds
malware (a hold marked ``block``) is banned, audited and announced; other new
holds are reported (``held``) and left to the moderation queue, which ranks
by the new risk score.

Example:
    >>> deps = platform.quality_rescan_deps()  # doctest: +SKIP
    >>> for done, total, report in rescan(deps, ("active",)):  # doctest: +SKIP
    ...     print(done, total, report.blocked)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from agora.domain import AssetStatus
from agora.pipeline.base import Step
from agora.pipeline.registry import order_steps
from agora.pipeline.runner import PipelineRunner
from agora.storage.tables import AssetRow, ProcessingResultRow

if TYPE_CHECKING:
    from agora.blobs.base import BlobStore
    from agora.bus.base import EventBus
    from agora.config import Settings
    from agora.governance.audit import AuditLog
    from agora.storage.database import Database
    from agora.storage.jobs import JobStore

RESCAN_JOB = "quality_rescan"
QUALITY_STEPS = ("integrity", "completeness", "scan", "duplicates", "models3d", "scores")
BATCH = 16


@dataclass(frozen=True)
class QualityRescanDeps:
    """What a quality rescan reads, runs and records with; ``steps``: every enabled
    pipeline step (the rescan picks the quality ones and what they require)."""

    db: Database
    jobs: JobStore
    audit: AuditLog
    bus: EventBus
    blobs: BlobStore
    settings: Settings
    steps: list[Step]


@dataclass
class QualityRescanReport:
    """Counts of one rescan."""

    scanned: int = 0
    blocked: int = 0
    held: int = 0
    failed: int = 0
    steps: list[str] = field(default_factory=list)


def quality_steps(steps: Sequence[Step], names: Sequence[str] = QUALITY_STEPS) -> list[Step]:
    """The enabled steps among ``names`` plus what they require, in run order."""
    by_name = {s.name: s for s in steps}
    wanted: set[str] = set()
    todo = [n for n in names if n in by_name]
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo += [r for r in by_name[name].requires if r in by_name]
    return order_steps([by_name[n] for n in wanted])


def _carry(deps: QualityRescanDeps, asset_id: str, job_id: str, rerun: set[str]) -> None:
    """Copy the asset's latest result of every step not re-run into the new job."""
    with deps.db.session() as s:
        newest = (
            select(ProcessingResultRow.step, func.max(ProcessingResultRow.id))
            .where(ProcessingResultRow.asset_id == asset_id)
            .group_by(ProcessingResultRow.step)
        )
        ids = [i for step, i in s.execute(newest).tuples() if step not in rerun]
        for row in s.scalars(select(ProcessingResultRow).where(ProcessingResultRow.id.in_(ids))):
            s.add(
                ProcessingResultRow(
                    asset_id=asset_id,
                    job_id=job_id,
                    step=row.step,
                    model=row.model,
                    output=row.output,
                    confidence=row.confidence,
                    hold=row.hold,
                    duration_ms=0.0,
                    worker=f"carried:{row.job_id}",
                )
            )


def _ban_blocked(deps: QualityRescanDeps, asset_id: str, job_id: str) -> bool:
    """Ban an asset whose new results hold it with ``block`` (malware); True if banned."""
    from agora.moderation.decisions import publish_status_change, set_asset_status

    with deps.db.session() as s:
        rows = s.scalars(
            select(ProcessingResultRow).where(
                ProcessingResultRow.job_id == job_id, ProcessingResultRow.hold.is_(True)
            )
        )
        blocked = [
            r
            for r in rows
            if (r.output or {}).get("block") and r.worker and not r.worker.startswith("carried:")
        ]
        status = s.scalar(select(AssetRow.status).where(AssetRow.id == asset_id))
        if not blocked or status in (AssetStatus.BANNED.value, AssetStatus.REMOVED.value):
            return False
        view = set_asset_status(
            deps.audit, s, asset_id, AssetStatus.BANNED, f"quality-rescan:{job_id}"
        )
    publish_status_change(deps.bus, view)
    return True


def _held(deps: QualityRescanDeps, job_id: str) -> bool:
    with deps.db.session() as s:
        return bool(
            s.scalar(
                select(func.count()).where(
                    ProcessingResultRow.job_id == job_id,
                    ProcessingResultRow.hold.is_(True),
                    ~ProcessingResultRow.worker.startswith("carried:"),
                )
            )
        )


def rescan(
    deps: QualityRescanDeps,
    statuses: Sequence[str] = ("active", "flagged", "pending"),
    steps: Sequence[str] = QUALITY_STEPS,
    *,
    batch: int = BATCH,
) -> Iterator[tuple[int, int, QualityRescanReport]]:
    """Re-run the quality steps on every asset of ``statuses``; yields
    ``(done, total, report)`` after each batch."""
    chosen = quality_steps(deps.steps, steps)
    runner = PipelineRunner(
        chosen,
        db=deps.db,
        jobs=deps.jobs,
        audit=deps.audit,
        bus=deps.bus,
        blobs=deps.blobs,
        settings=deps.settings,
    )
    rerun = {s.name for s in chosen}
    report = QualityRescanReport(steps=[s.name for s in chosen])
    with deps.db.session() as s:
        ids = list(
            s.scalars(
                select(AssetRow.id).where(AssetRow.status.in_(statuses)).order_by(AssetRow.id)
            )
        )
    yield 0, len(ids), report
    for start in range(0, len(ids), batch):
        pairs: list[tuple[str, str]] = []
        for asset_id in ids[start : start + batch]:
            job_id = deps.jobs.create(
                RESCAN_JOB,
                subject_id=asset_id,
                created_by="quality-rescan",
                params={"asset_id": asset_id, "steps": sorted(rerun)},
                job_id=f"qr-{uuid.uuid4().hex}",
            )
            _carry(deps, asset_id, job_id, rerun)
            pairs.append((asset_id, job_id))
        errors = runner.run_many(pairs)
        for asset_id, job_id in pairs:
            report.scanned += 1
            if errors.get(job_id) is not None:
                report.failed += 1
                continue
            if _ban_blocked(deps, asset_id, job_id):
                report.blocked += 1
            elif _held(deps, job_id):
                report.held += 1
        yield min(start + batch, len(ids)), len(ids), report
