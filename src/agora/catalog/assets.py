"""Asset lifecycle: create (with files), read, list, update, remove.

Creating an asset validates and stores its files, writes the catalog row, a
pipeline job and an audit entry in one transaction, then publishes
``asset.uploaded``. If the process dies between the commit and the publish,
the worker re-publishes stalled queued jobs, so nothing is lost.

Example:
    >>> service = platform.assets  # doctest: +SKIP
    >>> meta = {"title": "Tank", "seller_id": "s1"}
    >>> created = service.create(meta, [], [Upload("tank.png", png)], actor="k")  # doctest: +SKIP
    >>> service.get(created.asset_id)["status"]  # doctest: +SKIP
    'pending'
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agora.blobs.base import BlobRef
from agora.bus.base import Event, Topics
from agora.catalog.listing import AssetFilter, list_assets
from agora.catalog.schemas import AssetMetadata, AssetPatch
from agora.catalog.stages import pipeline_view
from agora.catalog.uploads import Upload
from agora.catalog.views import asset_view
from agora.domain import AssetStatus
from agora.errors import Conflict, Forbidden, InvalidInput, NotFound
from agora.storage.job_batches import PARENT_KEY
from agora.storage.tables import AssetRow, JobRow, ProcessingResultRow, SellerRow
from agora.uploads import UploadGuard
from agora.uploads.resources import model_resources

if TYPE_CHECKING:
    from agora.blobs.base import BlobStore
    from agora.bus.base import EventBus
    from agora.config import UploadSettings
    from agora.governance.audit import AuditLog
    from agora.storage.database import Database

PIPELINE_JOB = "pipeline"
# Fields whose change makes derived data (embeddings, tags, moderation) stale.
CONTENT_FIELDS = frozenset({"title", "description", "tags", "category"})


@dataclass(frozen=True)
class CreatedAsset:
    """Answer to a create: the asset id and the id of its pipeline job."""

    asset_id: str
    job_id: str


def validation_detail(exc: ValidationError) -> str:
    """One readable line per validation error."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
    )


def pipeline_event(asset_id: str, job_id: str) -> Event:
    """The ``asset.uploaded`` event that starts an asset's pipeline job."""
    return Event(Topics.ASSET_UPLOADED, {"asset_id": asset_id, "job_id": job_id}, key=asset_id)


def new_rows(
    meta: AssetMetadata,
    asset_id: str,
    job_id: str,
    file_refs: list[dict[str, Any]],
    image_refs: list[dict[str, Any]],
    actor: str,
    batch_job: str | None,
) -> tuple[AssetRow, JobRow]:
    """A new asset's catalog row and its queued pipeline job (a child of
    ``batch_job`` when given)."""
    asset = AssetRow(
        id=asset_id,
        seller_id=meta.seller_id,
        title=meta.title,
        description=meta.description,
        creator_tags=meta.tags,
        category=meta.category,
        price=meta.price,
        currency=meta.currency,
        files=file_refs,
        images=image_refs,
        format=meta.format,
        status=AssetStatus.PENDING.value,
        stock=meta.stock,
        geo_lat=meta.geo.lat if meta.geo else None,
        geo_lon=meta.geo.lon if meta.geo else None,
        attributes=meta.attributes,
        created_by=actor,
    )
    job = JobRow(
        id=job_id,
        kind=PIPELINE_JOB,
        subject_id=asset_id,
        created_by=actor,
        params={"asset_id": asset_id, "revision": 1}
        | ({PARENT_KEY: batch_job} if batch_job else {}),
    )
    return asset, job


def upload_resources(uploads: list[Upload]) -> frozenset[str]:
    """Names the upload's 3D models refer to (see ``agora.uploads.resources``)."""
    return model_resources((u.name, u.data) for u in uploads)


class AssetService:
    """The catalog's asset operations; the catalog is the single source of truth."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        bus: EventBus,
        blobs: BlobStore,
        uploads: UploadSettings,
    ) -> None:
        """The catalog ``db``; changes are audited and announced on ``bus``; uploaded
        bytes go to ``blobs`` after the ``uploads`` limits and checks."""
        self.db, self.audit, self.bus, self.blobs, self.uploads = db, audit, bus, blobs, uploads

    def store_uploads(
        self, guard: UploadGuard, uploads: list[Upload], field: Literal["files", "images"]
    ) -> list[dict[str, Any]]:
        """Check each upload with ``guard`` and store it; the blob references.
        A file that a glTF of the same upload names (its external buffer) is
        accepted as that model's resource."""
        resources = upload_resources(uploads)
        refs: list[dict[str, Any]] = []
        for upload in uploads:
            sniffed = guard.check_file(upload.name, upload.data, field, resources=resources)
            ref: BlobRef = self.blobs.put(
                upload.data, name=upload.name, media_type=sniffed.media_type, kind=sniffed.kind
            )
            refs.append(ref.to_dict() | {"extension_matches": sniffed.extension_matches})
        return refs

    @staticmethod
    def _check_creatable(s: Session, seller_id: str, asset_id: str) -> None:
        seller = s.get(SellerRow, seller_id)
        if seller is None:
            raise InvalidInput(
                f"unknown seller {seller_id!r}: create it with PUT /api/v1/sellers/{{id}}"
            )
        if seller.banned:
            raise Forbidden(f"seller {seller_id!r} is banned")
        if s.get(AssetRow, asset_id) is not None:
            raise Conflict(f"asset {asset_id!r} already exists")

    def create(
        self,
        metadata: AssetMetadata | Mapping[str, Any],
        files: list[Upload],
        images: list[Upload],
        actor: str,
        *,
        batch_job: str | None = None,
        publish: bool = True,
    ) -> CreatedAsset:
        """Validate, store files, write the catalog row and queue the pipeline.
        ``batch_job`` makes the pipeline job a child of that batch (an import),
        which then counts it when it ends. ``publish=False`` queues the job
        without announcing it: the caller publishes ``pipeline_event`` later
        (a deferred import)."""
        try:
            meta = AssetMetadata.model_validate(metadata)
        except ValidationError as exc:
            raise InvalidInput(f"invalid metadata: {validation_detail(exc)}") from None
        asset_id = meta.id or uuid.uuid4().hex
        with self.db.session() as s:
            self._check_creatable(s, meta.seller_id, asset_id)
        # One guard per asset: it counts files and bytes across the request.
        guard = UploadGuard(self.uploads)
        guard.check_count(len(files) + len(images))
        # Files are checked and stored before the row exists: a rejected upload
        # leaves no half-created asset, and blobs are content-addressed (a
        # retried upload stores nothing twice).
        file_refs = self.store_uploads(guard, files, "files")
        image_refs = self.store_uploads(guard, images, "images")
        job_id = uuid.uuid4().hex
        with self.db.session() as s:
            # Checked again in the writing transaction: the seller may have been
            # banned, or the id taken, while the files were stored.
            self._check_creatable(s, meta.seller_id, asset_id)
            s.add_all(new_rows(meta, asset_id, job_id, file_refs, image_refs, actor, batch_job))
            s.flush()
            self.audit.record(
                actor,
                "asset.created",
                "asset",
                asset_id,
                details={"job_id": job_id, "files": len(file_refs), "images": len(image_refs)},
                session=s,
            )
        if publish:
            self.bus.publish(pipeline_event(asset_id, job_id))
        return CreatedAsset(asset_id, job_id)

    def get(self, asset_id: str) -> dict[str, Any]:
        """One asset with the pipeline stages it has reached; ``NotFound`` for unknown ids."""
        with self.db.session() as s:
            row = s.get(AssetRow, asset_id)
            if row is None:
                raise NotFound(f"asset {asset_id!r} not found")
            view = asset_view(row)
            view["pipeline"] = pipeline_view(s, view)
            return view

    def list(self, flt: AssetFilter) -> tuple[list[dict[str, Any]], str | None]:
        """A page of assets and the cursor of the next page."""
        with self.db.session() as s:
            return list_assets(s, flt)

    def count_by_status(self) -> dict[str, int]:
        """Number of assets per status."""
        with self.db.session() as s:
            rows = s.execute(select(AssetRow.status, func.count()).group_by(AssetRow.status))
            return {status: int(n) for status, n in rows}

    def processing_results(self, asset_id: str) -> builtins.list[dict[str, Any]]:
        """Every pipeline step result recorded for the asset, oldest first:
        model@version, output, confidence, hold, duration. ``NotFound`` for
        unknown ids."""
        with self.db.session() as s:
            if s.get(AssetRow, asset_id) is None:
                raise NotFound(f"asset {asset_id!r} not found")
            rows = s.scalars(
                select(ProcessingResultRow)
                .where(ProcessingResultRow.asset_id == asset_id)
                .order_by(ProcessingResultRow.id)
            )
            return [
                {
                    "job_id": r.job_id,
                    "step": r.step,
                    "model": r.model,
                    "output": r.output,
                    "confidence": r.confidence,
                    "hold": r.hold,
                    "duration_ms": round(r.duration_ms, 2),
                    "created_at": r.created_at.isoformat(),
                }
                for r in rows
            ]

    def update(
        self,
        asset_id: str,
        patch: AssetPatch | Mapping[str, Any],
        actor: str,
        *,
        may_moderate: bool,
    ) -> dict[str, Any]:
        """Apply a patch; status changes need moderator rights (``may_moderate``)."""
        try:
            p = AssetPatch.model_validate(patch)
        except ValidationError as exc:
            raise InvalidInput(f"invalid patch: {validation_detail(exc)}") from None
        changes = p.model_dump(exclude_unset=True)
        if not changes:
            raise InvalidInput("empty patch: name at least one field to change")
        if "status" in changes and not may_moderate:
            raise Forbidden("changing an asset's status needs the 'moderator' scope")
        with self.db.session() as s:
            row = s.get(AssetRow, asset_id, with_for_update=True)
            if row is None:
                raise NotFound(f"asset {asset_id!r} not found")
            for name, value in changes.items():
                if name == "tags":
                    row.creator_tags = value
                elif name == "geo":
                    row.geo_lat = value["lat"] if value else None
                    row.geo_lon = value["lon"] if value else None
                elif name == "status":
                    row.status = AssetStatus(value).value
                else:
                    setattr(row, name, value)
            row.revision += 1
            row.updated_at = datetime.now(UTC)
            s.flush()
            view = asset_view(row)
            self.audit.record(
                actor,
                "asset.updated",
                "asset",
                asset_id,
                details={"fields": sorted(changes)},
                session=s,
            )
        self.bus.publish(
            Event(
                Topics.ASSET_UPDATED,
                {
                    "asset_id": asset_id,
                    "fields": sorted(changes),
                    "status": view["status"],
                    "content_changed": bool(CONTENT_FIELDS & changes.keys()),
                },
                key=asset_id,
            )
        )
        return view

    def remove(self, asset_id: str, actor: str) -> None:
        """Soft-delete: status ``removed`` (kept for audit and retention rules)."""
        with self.db.session() as s:
            row = s.get(AssetRow, asset_id, with_for_update=True)
            if row is None or row.status == AssetStatus.REMOVED.value:
                raise NotFound(f"asset {asset_id!r} not found")
            row.status = AssetStatus.REMOVED.value
            row.revision += 1
            self.audit.record(actor, "asset.removed", "asset", asset_id, session=s)
        self.bus.publish(Event(Topics.ASSET_DELETED, {"asset_id": asset_id}, key=asset_id))
