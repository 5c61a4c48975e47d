"""Assets: multipart create, read, list, patch, delete, bulk JSON Lines import."""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile, status
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from agora.api.bodies import read_json_object
from agora.api.deps import PlatformDep, Reader, Writer, authenticate
from agora.catalog import AssetService, Upload
from agora.catalog.listing import AssetFilter
from agora.domain import AssetStatus, Scope
from agora.errors import (
    AgoraError,
    Forbidden,
    InvalidInput,
    MalformedRequest,
    NotFound,
    PayloadTooLarge,
)
from agora.security.keys import Principal
from agora.storage.tables import ProcessingResultRow

router = APIRouter(tags=["assets"])


async def _read_upload(upload: UploadFile, limit: int) -> Upload:
    # Read one byte past the limit: enough to know it is too large without
    # buffering an arbitrarily large file.
    data = await upload.read(limit + 1)
    name = upload.filename or "unnamed"
    if len(data) > limit:
        raise PayloadTooLarge(f"file {name!r} exceeds the {limit}-byte limit")
    return Upload(name=name, data=data, content_type=upload.content_type)


def _parse_metadata(raw: str, limit: int) -> dict[str, Any]:
    if len(raw) > limit:
        raise PayloadTooLarge(f"metadata exceeds {limit} bytes")
    try:
        meta = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedRequest(f"metadata is not valid JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise InvalidInput("metadata must be a JSON object")
    return meta


@router.post("/assets", status_code=status.HTTP_202_ACCEPTED)
async def create_asset(
    platform: PlatformDep,
    principal: Writer,
    metadata: Annotated[str, Form(description="JSON object: title, seller_id, price, ...")],
    files: Annotated[list[UploadFile] | None, File()] = None,
    images: Annotated[list[UploadFile] | None, File()] = None,
) -> dict[str, Any]:
    """Create an asset; answers 202 with its id and pipeline job id."""
    limits = platform.settings.uploads
    meta = _parse_metadata(metadata, limits.max_metadata_bytes)
    files, images = files or [], images or []
    if len(files) + len(images) > limits.max_files:
        raise PayloadTooLarge(f"at most {limits.max_files} files per asset")
    file_uploads = [await _read_upload(f, limits.max_file_bytes) for f in files]
    image_uploads = [await _read_upload(f, limits.max_file_bytes) for f in images]
    # Sniffing, hashing, blob and catalog writes block: keep the event loop free.
    created = await run_in_threadpool(
        AssetService(platform).create, meta, file_uploads, image_uploads, principal.actor
    )
    return {
        "id": created.asset_id,
        "job_id": created.job_id,
        "status": "pending",
        "links": {
            "self": f"/api/v1/assets/{created.asset_id}",
            "job": f"/api/v1/jobs/{created.job_id}",
        },
    }


@router.post("/assets:batch")
async def import_assets(
    request: Request, platform: PlatformDep, principal: Writer
) -> dict[str, Any]:
    """Bulk import: one metadata JSON object per line (JSON Lines); per-line results."""
    body = await request.body()
    lines = [ln for ln in body.splitlines() if ln.strip()]
    limit = platform.settings.uploads.max_batch_lines
    if len(lines) > limit:
        raise PayloadTooLarge(f"{len(lines)} lines sent; at most {limit} per request")
    if not lines:
        raise InvalidInput("empty body: send one JSON object per line")
    return await run_in_threadpool(_import_lines, AssetService(platform), lines, principal.actor)


def _import_lines(service: AssetService, lines: list[bytes], actor: str) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    for n, line in enumerate(lines, start=1):
        try:
            meta = orjson.loads(line)
            if not isinstance(meta, dict):
                raise InvalidInput("line must be a JSON object")
            created = service.create(meta, [], [], actor)
            results.append(
                {"line": n, "ok": True, "id": created.asset_id, "job_id": created.job_id}
            )
        except orjson.JSONDecodeError as exc:
            results.append({"line": n, "ok": False, "status": 400, "error": f"bad JSON: {exc}"})
        except AgoraError as exc:
            results.append({"line": n, "ok": False, "status": exc.status, "error": exc.detail})
    ok = sum(r["ok"] for r in results)
    return {"imported": ok, "failed": len(results) - ok, "results": results}


@router.get("/assets")
def list_assets(
    platform: PlatformDep,
    _: Reader,
    status_: Annotated[AssetStatus | None, Query(alias="status")] = None,
    seller_id: str | None = None,
    category: str | None = None,
    min_price: Annotated[Decimal | None, Query(ge=0)] = None,
    max_price: Annotated[Decimal | None, Query(ge=0)] = None,
    in_stock: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Newest first, filtered, cursor-paginated (pass ``next_cursor`` back as ``cursor``)."""
    items, next_cursor = AssetService(platform).list(
        AssetFilter(
            status=status_.value if status_ else None,
            seller_id=seller_id,
            category=category,
            min_price=min_price,
            max_price=max_price,
            in_stock=in_stock,
            limit=limit,
            cursor=cursor,
        )
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get("/assets/{asset_id}")
def get_asset(asset_id: str, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """One asset with its status."""
    return AssetService(platform).get(asset_id)


@router.patch("/assets/{asset_id}")
async def patch_asset(
    asset_id: str,
    request: Request,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(authenticate)],
) -> dict[str, Any]:
    """Change fields (write scope); changing ``status`` needs the moderator scope.
    A moderator-only key may change ``status`` and nothing else."""
    may_write = principal.has(Scope.WRITE.value)
    may_moderate = principal.has(Scope.MODERATOR.value)
    if not (may_write or may_moderate):
        raise Forbidden("this operation needs the 'write' or 'moderator' scope")
    patch = await read_json_object(request)
    if not may_write and set(patch) - {"status"}:
        raise Forbidden("a moderator key may change only 'status'; other fields need 'write'")
    return await run_in_threadpool(
        functools.partial(
            AssetService(platform).update,
            asset_id,
            patch,
            principal.actor,
            may_moderate=may_moderate,
        )
    )


@router.delete("/assets/{asset_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_asset(asset_id: str, platform: PlatformDep, principal: Writer) -> Response:
    """Remove an asset (soft delete, audited)."""
    AssetService(platform).remove(asset_id, principal.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/assets/{asset_id}/results")
def processing_results(asset_id: str, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Per-step pipeline results: model@version, output, confidence, duration."""
    AssetService(platform).get(asset_id)
    with platform.db.session() as s:
        rows = s.scalars(
            select(ProcessingResultRow)
            .where(ProcessingResultRow.asset_id == asset_id)
            .order_by(ProcessingResultRow.id)
        )
        return {
            "asset_id": asset_id,
            "results": [
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
            ],
        }


@router.get("/assets/{asset_id}/images/{index}")
def asset_image(asset_id: str, index: int, platform: PlatformDep, _: Reader) -> Response:
    """Raw bytes of one of the asset's images, with its sniffed media type."""
    images = AssetService(platform).get(asset_id)["images"]
    if not 0 <= index < len(images):
        raise NotFound(f"asset {asset_id!r} has no image {index}")
    ref = images[index]
    return Response(
        platform.blobs.get(ref["sha256"]),
        media_type=ref["media_type"],
        headers={
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=86400, immutable",
        },
    )
