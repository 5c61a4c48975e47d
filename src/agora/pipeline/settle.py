"""Settling an asset after the pipeline: early activation and the final status.

Only steps that may hold (``Step.can_hold``: integrity, moderation) decide an
asset's status. So once every such step has recorded its result and none held,
the status is known: ``activate_early`` turns the asset active at once (it is
then keyword-searchable, and semantically searchable when the index step's
vectors land), while the slower steps (embedding, tagging) finish. ``settle``
records the end of processing (``processed_at``), moves a held asset to
flagged or banned, publishes ``asset.processed`` and finishes the job.

Both are compare-and-set on the catalog row, so a ban or removal decided
meanwhile wins and two workers settling the same job transition it once.

Example:
    >>> holds_of({})
    []
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from agora.bus.base import Event, Topics
from agora.domain import AssetStatus
from agora.governance.audit import AuditDraft
from agora.storage.database import rowcount
from agora.storage.tables import AssetRow, ProcessingResultRow

if TYPE_CHECKING:
    from agora.bus.base import EventBus
    from agora.governance.audit import AuditLog
    from agora.storage.database import Database
    from agora.storage.jobs import JobStore


def holds_of(done: dict[str, ProcessingResultRow]) -> list[str]:
    """Reasons (or step names) of the recorded results that hold the asset."""
    return [str(r.output.get("reason") or r.step) for r in done.values() if r.hold]


def target_status(done: dict[str, ProcessingResultRow]) -> str:
    """Active, flagged (a hold) or banned (a hold marked ``block``: a clear violation)."""
    if any(r.hold and r.output.get("block") for r in done.values()):
        return AssetStatus.BANNED.value
    return (AssetStatus.FLAGGED if holds_of(done) else AssetStatus.ACTIVE).value


def activate_early(db: Database, audit: AuditLog, asset_id: str, job_id: str) -> bool:
    """Turn a pending asset active before the non-holding steps finish; True if it moved."""
    return bool(activate_early_many(db, audit, [(asset_id, job_id)]))


def activate_early_many(db: Database, audit: AuditLog, jobs: Sequence[tuple[str, str]]) -> set[str]:
    """``activate_early`` for a batch of (asset, job) pairs in one transaction; the
    ids of the assets that moved."""
    if not jobs:
        return set()
    job_of = dict(jobs)
    with db.session() as s:
        moved = set(
            s.scalars(
                update(AssetRow)
                .where(AssetRow.id.in_(set(job_of)), AssetRow.status == AssetStatus.PENDING.value)
                .values(status=AssetStatus.ACTIVE.value)
                .returning(AssetRow.id)
            )
        )
        drafts = [
            AuditDraft(
                "pipeline", "asset.activated", "asset", asset_id,
                details={"job_id": job_of[asset_id], "stage": "moderated"},
            )
            for asset_id in sorted(moved)
        ]  # fmt: skip
        audit.record_many(drafts, session=s)
    return moved


def settle(
    db: Database,
    audit: AuditLog,
    bus: EventBus,
    jobs: JobStore,
    asset_id: str,
    job_id: str,
    done: dict[str, ProcessingResultRow],
) -> None:
    """Final status, ``processed_at``, the audit entry, ``asset.processed`` and the job."""
    settle_many(db, audit, bus, jobs, [(asset_id, job_id, done)])


def settle_many(
    db: Database,
    audit: AuditLog,
    bus: EventBus,
    jobs: JobStore,
    batch: Sequence[tuple[str, str, dict[str, ProcessingResultRow]]],
) -> None:
    """``settle`` for a batch of (asset, job, results) in one catalog transaction,
    one publish and one job-store transaction, in the same order of effects: the
    status and audit entries commit first, the events are published next and the
    jobs finish last, so a crash in between redelivers and repeats idempotently."""
    if not batch:
        return
    now = datetime.now(UTC)
    drafts: list[AuditDraft] = []
    events: list[Event] = []
    finished: list[tuple[str, dict[str, Any]]] = []
    with db.session() as s:
        for asset_id, job_id, done in batch:
            # Compare-and-set: only a pending asset moves, so a ban or removal decided
            # meanwhile wins, and of two workers settling the same job (a reclaimed
            # delivery) only one transition happens and is audited.
            holds, target = holds_of(done), target_status(done)
            models = {name: r.model for name, r in done.items()}
            moved = rowcount(
                s.execute(
                    update(AssetRow)
                    .where(AssetRow.id == asset_id, AssetRow.status == AssetStatus.PENDING.value)
                    .values(status=target, processed_at=now)
                )
            )
            if not moved and target == AssetStatus.ACTIVE.value:
                moved = rowcount(
                    s.execute(
                        update(AssetRow)
                        .where(
                            AssetRow.id == asset_id,
                            AssetRow.status == target,
                            AssetRow.processed_at.is_(None),
                        )
                        .values(processed_at=now)
                    )
                )
            status = s.scalar(select(AssetRow.status).where(AssetRow.id == asset_id))
            if status is None:
                continue
            if moved:
                # Every step's model@version goes in the details: joined, a dozen
                # steps pass the audit's 128-character model reference.
                drafts.append(
                    AuditDraft(
                        "pipeline", "asset.processed", "asset", asset_id,
                        details={"job_id": job_id, "status": status, "holds": holds,
                                 "models": models},
                    )
                )  # fmt: skip
            summary: dict[str, Any] = {"asset_id": asset_id, "status": status, "steps": models}
            summary["holds"] = holds
            events.append(
                Event(
                    Topics.ASSET_PROCESSED,
                    summary | {"job_id": job_id},
                    id=f"{job_id}-processed",
                    key=asset_id,
                )
            )
            finished.append((job_id, summary))
        audit.record_many(drafts, session=s)
    bus.publish_many(events)
    jobs.finish_many(finished)
