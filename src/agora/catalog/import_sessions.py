"""Resumable bulk imports: items keyed by a client-supplied import id.

An import sent with an ``import_id`` may arrive in many requests (chunks of a
file streamed by ``agora import``, or one long streamed body). Each item (a
JSON line, a Parquet row, an image) is numbered by its 1-based position in the
source and recorded in ``import_items``: re-sending the import skips the items
already accepted and tries the rejected ones again, so a client that lost a
connection re-sends from the start and nothing is lost or created twice. An
item without an ``id`` gets one derived from (import id, position): an asset
created just before a crash is recognised, not duplicated.

The import is one batch job whose id is the import id; its counters move as
the accepted assets' pipelines end, and ``complete`` closes it. A *deferred*
import holds its pipeline events until ``complete`` (import first, process in
the background) and is never refused for backlog; any other import is refused
(``Overloaded``, 503 with Retry-After) while the pipeline backlog is too long.

Example:
    >>> sessions = platform.import_sessions()  # doctest: +SKIP
    >>> deferred = sessions.open("catalog-2026-12", "key:ab12", defer=False)  # doctest: +SKIP
    >>> sessions.add("catalog-2026-12", items, "key:ab12", deferred=deferred)  # doctest: +SKIP
    >>> sessions.complete("catalog-2026-12", "key:ab12")["accepted"]  # doctest: +SKIP
    9867
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from agora.catalog.asset_batch import create_many
from agora.catalog.assets import AssetService, CreatedAsset, pipeline_event
from agora.catalog.imports import IMPORT_JOB
from agora.catalog.schemas import AssetMetadata
from agora.catalog.uploads import Upload
from agora.errors import Conflict, NotFound, Overloaded
from agora.storage.job_batches import PARENT_KEY
from agora.storage.tables import ImportItemRow, JobRow

if TYPE_CHECKING:
    from agora.bus.base import EventBus
    from agora.storage.database import Database
    from agora.storage.jobs import JobStore

IMPORT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
"""What a client-supplied import id may be (it is also the import's job id)."""
_PUBLISH_PAGE = 500
_IDS = uuid.UUID("6f1d1c52-3b0e-4c0b-9d43-4d1f3c0a2f11")  # namespace of derived asset ids


@dataclass(frozen=True)
class ImportItem:
    """One item to import: its position, its metadata (or why it was refused
    before reaching the catalog) and, for an image folder, its image."""

    line: int
    metadata: AssetMetadata | None = None
    rejection: dict[str, Any] | None = None
    images: list[Upload] = field(default_factory=list)
    name: str | None = None


@dataclass
class ChunkOutcome:
    """What one request added to an import."""

    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)


def derived_asset_id(import_id: str, line: int) -> str:
    """The asset id of an item sent without one: the same on every re-send."""
    return uuid.uuid5(_IDS, f"{import_id}:{line}").hex


class ImportSessions:
    """Open, feed, complete and report resumable imports."""

    def __init__(
        self,
        db: Database,
        jobs: JobStore,
        assets: AssetService,
        bus: EventBus,
        *,
        backlog: Callable[[], int],
        max_backlog: int,
        retry_after_s: int,
    ) -> None:
        """Items are recorded in ``db``; the import is a batch job in ``jobs``;
        assets are created through ``assets``; a deferred import's events go to
        ``bus`` at ``complete``. ``backlog()`` is the pipeline's lag, refused
        above ``max_backlog``."""
        self.db, self.jobs, self.assets, self.bus = db, jobs, assets, bus
        self.backlog, self.max_backlog, self.retry_after_s = backlog, max_backlog, retry_after_s

    def _job(self, import_id: str, actor: str) -> JobRow:
        with self.db.session() as s:
            row = s.get(JobRow, import_id)
            if row is None:
                raise NotFound(f"import {import_id!r} not found")
            s.expunge(row)
        if row.kind != IMPORT_JOB:
            raise Conflict(f"{import_id!r} is the id of a {row.kind} job; choose another import id")
        if row.created_by != actor:
            raise Conflict(f"import {import_id!r} was started by another key")
        return row

    def open(self, import_id: str, actor: str, *, defer: bool) -> bool:
        """Start the import, or find it again (a resume); whether it is deferred
        (the first request decides). ``Conflict`` once it is complete."""
        try:
            params = {"import_id": import_id, "defer": defer, "complete": False}
            self.jobs.create_batch(
                IMPORT_JOB, total=0, created_by=actor, job_id=import_id, params=params
            )
            return defer
        except IntegrityError:
            pass  # it exists: a resume, or a concurrent first request
        row = self._job(import_id, actor)
        if row.params.get("complete"):
            raise Conflict(
                f"import {import_id!r} is complete: GET /api/v1/imports/{import_id} for its report"
            )
        return bool(row.params.get("defer"))

    def admit(self, *, deferred: bool) -> None:
        """Refuse more items (503, Retry-After) while the pipeline is too far
        behind; a deferred import adds no pipeline work until it completes."""
        if deferred:
            return
        backlog = self.backlog()
        if backlog > self.max_backlog:
            raise Overloaded(
                f"the pipeline has {backlog} assets waiting (bound {self.max_backlog}); "
                "re-send the import with the same import id after Retry-After",
                retry_after=self.retry_after_s,
                backlog=backlog,
            )

    def add(
        self, import_id: str, items: Iterable[ImportItem], actor: str, *, deferred: bool
    ) -> ChunkOutcome:
        """Try each item not yet accepted; record every outcome."""
        batch = list(items)
        out = ChunkOutcome()
        with self.db.session() as s:
            found = s.execute(
                select(ImportItemRow.line, ImportItemRow.accepted).where(
                    ImportItemRow.import_id == import_id,
                    ImportItemRow.line.in_([i.line for i in batch]),
                )
            )
            seen = {int(line): bool(accepted) for line, accepted in found}
        done = {line for line, accepted in seen.items() if accepted}
        todo = [item for item in batch if item.line not in done]
        out.skipped = len(batch) - len(todo)
        rows = self._create(import_id, todo, actor, deferred)
        for row in rows:
            if row.accepted:
                out.accepted += 1
            else:
                out.rejected += 1
                out.rejections.append(rejection_view(row))
        with self.db.session() as s:
            for row in rows:
                # A first try is a plain insert; a retried (rejected) item replaces its row.
                if row.line in seen:
                    s.merge(row)
                else:
                    s.add(row)
        # Counted incrementally (a COUNT per chunk would grow with the import).
        if added := sum(1 for row in rows if row.line not in seen):
            self.jobs.received(import_id, added=added)
        return out

    def _create(
        self, import_id: str, items: list[ImportItem], actor: str, deferred: bool
    ) -> list[ImportItemRow]:
        rows = [
            ImportItemRow(import_id=import_id, line=i.line, name=i.name, published=not deferred)
            for i in items
        ]
        valid = [(row, item) for row, item in zip(rows, items, strict=True) if item.metadata]
        for row, item in zip(rows, items, strict=True):
            if item.metadata is None:
                rejection = item.rejection or {"status": 422, "error": "no metadata"}
                row.accepted, row.status, row.error = False, rejection["status"], rejection["error"]
        entries = [
            (
                meta.model_copy(update={"id": meta.id or derived_asset_id(import_id, item.line)}),
                item.images,
            )
            for _, item in valid
            if (meta := item.metadata) is not None
        ]
        outcomes = create_many(
            self.assets, entries, actor, batch_job=import_id, publish=not deferred
        )
        accepted = {o.asset_id for o in outcomes if isinstance(o, CreatedAsset)}
        for (row, _), (meta, _), outcome in zip(valid, entries, outcomes, strict=True):
            if isinstance(outcome, CreatedAsset):
                row.accepted, row.asset_id, row.job_id = True, outcome.asset_id, outcome.job_id
                continue
            job_id = None
            if isinstance(outcome, Conflict) and meta.id and meta.id not in accepted:
                job_id = self._created_by(import_id, meta.id)
            if job_id is None:
                row.accepted, row.status, row.error = False, outcome.status, outcome.detail
            else:  # created by this import before a crash lost its record
                row.accepted, row.asset_id, row.job_id = True, meta.id, job_id
        return rows

    def _created_by(self, import_id: str, asset_id: str) -> str | None:
        """The pipeline job of ``asset_id`` if this import created it and no item
        records it (a crash lost the record); None for a true conflict."""
        with self.db.session() as s:
            recorded = s.scalar(
                select(ImportItemRow.line).where(
                    ImportItemRow.import_id == import_id,
                    ImportItemRow.asset_id == asset_id,
                    ImportItemRow.accepted.is_(True),
                )
            )
            if recorded is not None:
                return None  # another item of this import is that asset
            jobs = s.execute(
                select(JobRow.id, JobRow.params).where(JobRow.subject_id == asset_id)
            ).all()
        return next((j for j, params in jobs if (params or {}).get(PARENT_KEY) == import_id), None)

    def _counts(self, import_id: str) -> tuple[int, int]:
        with self.db.session() as s:
            rows = s.execute(
                select(ImportItemRow.accepted, func.count())
                .where(ImportItemRow.import_id == import_id)
                .group_by(ImportItemRow.accepted)
            ).all()
        counts = {bool(accepted): int(n) for accepted, n in rows}
        return counts.get(True, 0), counts.get(False, 0)

    def complete(self, import_id: str, actor: str) -> dict[str, Any]:
        """No more items: fix the totals (the job succeeds once every accepted
        asset is processed) and, for a deferred import, start the pipelines.
        Completing twice changes nothing."""
        row = self._job(import_id, actor)
        if not row.params.get("complete"):
            accepted, rejected = self._counts(import_id)
            with self.db.session() as s:
                params = dict(row.params) | {"complete": True}
                s.execute(update(JobRow).where(JobRow.id == import_id).values(params=params))
            self.jobs.submitted(
                import_id, accepted=accepted, rejected=rejected, total=accepted + rejected
            )
        self._publish_held(import_id)
        return self.status(import_id, actor)

    def _publish_held(self, import_id: str) -> None:
        # Page by page, marking each page published after its events went out:
        # a crash re-publishes at most one page (the runner is idempotent).
        while True:
            with self.db.session() as s:
                page = s.execute(
                    select(ImportItemRow.line, ImportItemRow.asset_id, ImportItemRow.job_id)
                    .where(
                        ImportItemRow.import_id == import_id,
                        ImportItemRow.accepted.is_(True),
                        ImportItemRow.published.is_(False),
                    )
                    .order_by(ImportItemRow.line)
                    .limit(_PUBLISH_PAGE)
                ).all()
            if not page:
                return
            for _, asset_id, job_id in page:
                self.bus.publish(pipeline_event(str(asset_id), str(job_id)))
            with self.db.session() as s:
                s.execute(
                    update(ImportItemRow)
                    .where(
                        ImportItemRow.import_id == import_id,
                        ImportItemRow.line.in_([line for line, _, _ in page]),
                    )
                    .values(published=True)
                )

    def status(self, import_id: str, actor: str | None = None, limit: int = 100) -> dict[str, Any]:
        """Counters and the first ``limit`` rejections (by position) of an import;
        ``NotFound`` for an unknown id."""
        with self.db.session() as s:
            row = s.get(JobRow, import_id)
            if row is None or row.kind != IMPORT_JOB:
                raise NotFound(f"import {import_id!r} not found")
            s.expunge(row)
        if actor is not None and row.created_by != actor:
            raise Conflict(f"import {import_id!r} was started by another key")
        accepted, rejected = self._counts(import_id)
        with self.db.session() as s:
            rejections = s.scalars(
                select(ImportItemRow)
                .where(ImportItemRow.import_id == import_id, ImportItemRow.accepted.is_(False))
                .order_by(ImportItemRow.line)
                .limit(limit)
            ).all()
            listed = [rejection_view(r) for r in rejections]
        result = row.result or {}
        return {
            "import_id": import_id,
            "status": row.status,
            "complete": bool(row.params.get("complete")),
            "deferred": bool(row.params.get("defer")),
            "accepted": accepted,
            "rejected": rejected,
            "processed": int(result.get("processed", 0)),
            "failed": int(result.get("failed", 0)),
            "percent": round(row.percent, 1),
            "rejections": listed,
            "links": {"job": f"/api/v1/jobs/{import_id}"},
        }


def rejection_view(row: ImportItemRow) -> dict[str, Any]:
    """An item's rejection as the API reports it."""
    view: dict[str, Any] = {"line": row.line, "status": row.status, "error": row.error}
    if row.name:
        view["name"] = row.name
    return view
