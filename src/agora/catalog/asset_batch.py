"""Create many assets in one transaction: the bulk import's write path.

One asset at a time costs two transactions, a seller lookup and a lock on the
audit chain each; a chunk of an import pays them once. The catalog rows, the
pipeline jobs and one audit entry per asset are written together, with the
same checks as a single create (unknown or banned seller, taken id; each
refused alone). Should the transaction itself fail (an id taken by a
concurrent request between the check and the commit), every asset of the
chunk is retried on its own, so one conflict never loses the others.

Example:
    >>> out = create_many(platform.assets, [(meta, [])], "key:ab12")  # doctest: +SKIP
    >>> out[0].asset_id  # doctest: +SKIP
    'tank-01'
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from agora.catalog.assets import CreatedAsset, new_rows, pipeline_event
from agora.catalog.schemas import AssetMetadata
from agora.catalog.uploads import Upload
from agora.errors import AgoraError, Conflict, Forbidden, InvalidInput
from agora.governance.audit import AuditDraft
from agora.storage.tables import AssetRow, SellerRow
from agora.uploads import UploadGuard

if TYPE_CHECKING:
    from agora.catalog.assets import AssetService

Outcome = CreatedAsset | AgoraError


def _stored_images(service: AssetService, images: list[Upload]) -> list[dict[str, Any]]:
    guard = UploadGuard(service.uploads)
    guard.check_count(len(images))
    return service.store_uploads(guard, images, "images")


def _refusal(
    meta: AssetMetadata, asset_id: str, sellers: dict[str, bool], taken: set[str]
) -> AgoraError | None:
    if meta.seller_id not in sellers:
        return InvalidInput(
            f"unknown seller {meta.seller_id!r}: create it with PUT /api/v1/sellers/{{id}}"
        )
    if sellers[meta.seller_id]:
        return Forbidden(f"seller {meta.seller_id!r} is banned")
    if asset_id in taken:
        return Conflict(f"asset {asset_id!r} already exists")
    return None


def create_many(
    service: AssetService,
    entries: Sequence[tuple[AssetMetadata, list[Upload]]],
    actor: str,
    *,
    batch_job: str | None = None,
    publish: bool = True,
) -> list[Outcome]:
    """Create an asset per (metadata, images) entry; per entry, the created
    asset or the error that refused it (as ``AssetService.create`` would)."""
    ids = [meta.id or uuid.uuid4().hex for meta, _ in entries]
    outcomes: list[Outcome | None] = [None] * len(entries)
    refs: list[list[dict[str, Any]]] = [[] for _ in entries]
    for i, (_, images) in enumerate(entries):
        try:
            refs[i] = _stored_images(service, images) if images else []
        except AgoraError as exc:
            outcomes[i] = exc
    refused = list(outcomes)  # before the write: what to keep if it fails
    try:
        created = _write(service, entries, ids, refs, outcomes, actor, batch_job)
    except IntegrityError:
        outcomes = refused
        return [
            outcome
            if outcome is not None
            else _one(
                service, meta.model_copy(update={"id": ids[i]}), images, actor, batch_job, publish
            )
            for i, ((meta, images), outcome) in enumerate(zip(entries, outcomes, strict=True))
        ]
    if publish:
        for asset in created:
            service.bus.publish(pipeline_event(asset.asset_id, asset.job_id))
    return [o for o in outcomes if o is not None]


def _one(
    service: AssetService,
    meta: AssetMetadata,
    images: list[Upload],
    actor: str,
    batch_job: str | None,
    publish: bool,
) -> Outcome:
    try:
        return service.create(meta, [], images, actor, batch_job=batch_job, publish=publish)
    except AgoraError as exc:
        return exc


def _write(
    service: AssetService,
    entries: Sequence[tuple[AssetMetadata, list[Upload]]],
    ids: list[str],
    refs: list[list[dict[str, Any]]],
    outcomes: list[Outcome | None],
    actor: str,
    batch_job: str | None,
) -> list[CreatedAsset]:
    created: list[CreatedAsset] = []
    drafts: list[AuditDraft] = []
    with service.db.session() as s:
        seller_ids = {meta.seller_id for meta, _ in entries}
        sellers = {
            sid: bool(banned)
            for sid, banned in s.execute(
                select(SellerRow.id, SellerRow.banned).where(SellerRow.id.in_(seller_ids))
            )
        }
        taken = set(s.scalars(select(AssetRow.id).where(AssetRow.id.in_(ids))))
        for i, (meta, _) in enumerate(entries):
            if outcomes[i] is not None:
                continue
            refusal = _refusal(meta, ids[i], sellers, taken)
            if refusal is not None:
                outcomes[i] = refusal
                continue
            taken.add(ids[i])  # the same id twice in one chunk: the second is a conflict
            job_id = uuid.uuid4().hex
            s.add_all(new_rows(meta, ids[i], job_id, [], refs[i], actor, batch_job))
            details = {"job_id": job_id, "files": 0, "images": len(refs[i])}
            drafts.append(AuditDraft(actor, "asset.created", "asset", ids[i], details=details))
            outcomes[i] = CreatedAsset(ids[i], job_id)
            created.append(CreatedAsset(ids[i], job_id))
        s.flush()
        service.audit.record_many(drafts, session=s)
    return created
