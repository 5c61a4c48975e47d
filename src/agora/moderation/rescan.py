"""Batch review: re-score the catalog with the current models.

Used for post-hoc review after text analysis was down and after a model or
rule change. Each asset is assessed again; post-hoc items whose asset now
scores clean are closed (``auto_cleared``, audited), and assets that now need
a look are queued (idempotently per asset revision and model set). Statuses
are not changed behind a moderator's back: a rescan only queues.

Example:
    >>> deps = RescanDeps(platform.db, platform.audit, platform.blobs,
    ...                   platform.moderation, platform.moderation_queue)  # doctest: +SKIP
    >>> for done, total, report in rescan(deps, statuses=("active",)):  # doctest: +SKIP
    ...     print(done, total)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from agora.catalog.views import asset_view
from agora.moderation.tables import ModerationItemRow
from agora.storage.tables import AssetRow

if TYPE_CHECKING:
    from agora.blobs.base import BlobStore
    from agora.governance.audit import AuditLog
    from agora.moderation.queue import ModerationQueue
    from agora.moderation.service import ModerationService
    from agora.storage.database import Database


@dataclass(frozen=True)
class RescanDeps:
    """What a rescan reads, assesses with and writes to."""

    db: Database
    audit: AuditLog
    blobs: BlobStore
    service: ModerationService
    queue: ModerationQueue


@dataclass
class RescanReport:
    """Counts of one rescan."""

    scanned: int = 0
    queued: int = 0
    cleared: int = 0
    decisions: dict[str, int] = field(default_factory=dict)


def _clear_post_hoc(deps: RescanDeps, asset_id: str, models: list[str]) -> int:
    with deps.db.session() as s:
        rows = list(
            s.scalars(
                select(ModerationItemRow).where(
                    ModerationItemRow.asset_id == asset_id,
                    ModerationItemRow.kind == "post_hoc",
                    ModerationItemRow.state == "open",
                )
            )
        )
        for row in rows:
            row.state = "auto_cleared"
            row.decided_by = "moderation:rescan"
            deps.audit.record(
                "moderation:rescan",
                "moderation.auto_cleared",
                "asset",
                asset_id,
                model=",".join(models)[:128] or None,
                details={"item_id": row.id},
                session=s,
            )
        return len(rows)


def rescan(
    deps: RescanDeps, statuses: Sequence[str] = ("active", "flagged"), batch: int = 200
) -> Iterator[tuple[int, int, RescanReport]]:
    """Re-assess every asset with one of ``statuses``; yields (done, total, report)."""
    service, queue = deps.service, deps.queue
    queue.sync()
    report = RescanReport()
    where = AssetRow.status.in_(list(statuses))
    with deps.db.session() as s:
        total = int(s.scalar(select(func.count()).select_from(AssetRow).where(where)) or 0)
    last = ""
    while True:
        with deps.db.session() as s:
            rows = list(
                s.scalars(
                    select(AssetRow)
                    .where(where, AssetRow.id > last)
                    .order_by(AssetRow.id)
                    .limit(batch)
                )
            )
            assets = [asset_view(r) for r in rows]
        if not assets:
            return
        for asset in assets:
            last = asset["id"]
            assessment = service.assess_asset(asset, deps.blobs)
            report.scanned += 1
            report.decisions[assessment.decision] = report.decisions.get(assessment.decision, 0) + 1
            if assessment.decision == "approve":
                report.cleared += _clear_post_hoc(deps, asset["id"], assessment.models)
            else:
                models = hashlib.sha256(",".join(assessment.models).encode()).hexdigest()[:12]
                key = f"rescan:{asset['id']}:{asset['revision']}:{models}"
                report.queued += queue.enqueue(
                    asset["id"], assessment, source="rescan", dedupe_key=key
                )
            yield report.scanned, total, report
