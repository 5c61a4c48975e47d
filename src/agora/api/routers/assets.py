"""Assets: multipart create, read, list, patch, delete, bulk JSON Lines import."""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, Response, UploadFile
from fastapi import status as http
from pydantic import Json
from starlette.concurrency import run_in_threadpool

from agora.api.deps import PlatformDep, Reader, Writer
from agora.api.jsonlines import JsonLinesBody, json_lines_body
from agora.api.schemas.assets import (
    Asset,
    AssetCreated,
    AssetImport,
    AssetMetadata,
    AssetPage,
    AssetPatch,
    ProcessingResults,
)
from agora.catalog import Upload
from agora.catalog.listing import AssetFilter
from agora.domain import AssetStatus, Scope
from agora.errors import Forbidden, NotFound, PayloadTooLarge

router = APIRouter(tags=["assets"])
AssetId = Annotated[str, Path(min_length=1, max_length=128, description="The asset's id.")]
METADATA_EXAMPLE = (
    '{"title": "Low-poly tank", "seller_id": "s-pixelforge", "price": "4.99", '
    '"currency": "USD", "tags": ["tank", "vehicle"], "category": "vehicles"}'
)
IMPORT_EXAMPLE = (
    '{"id": "tank-01", "title": "Low-poly tank", "seller_id": "s-pixelforge", "price": "4.99", '
    '"currency": "USD", "tags": ["tank", "vehicle"], "category": "vehicles"}\n'
    '{"title": "Gold coin", "seller_id": "s-pixelforge", "price": "0.99", "currency": "USD"}\n'
)


async def _read_upload(upload: UploadFile, limit: int) -> Upload:
    # Read one byte past the limit: enough to know it is too large without
    # buffering an arbitrarily large file.
    data = await upload.read(limit + 1)
    name = upload.filename or "unnamed"
    if len(data) > limit:
        raise PayloadTooLarge(f"file {name!r} exceeds the {limit}-byte limit")
    return Upload(name=name, data=data, content_type=upload.content_type)


async def _metadata_within_limit(request: Request, platform: PlatformDep, _: Writer) -> None:
    # Checked before the field is parsed as JSON (the form is already read and
    # cached by then): an oversized metadata string is a 413, never parsed.
    # Takes the key first (the same, cached, dependency as the route's): an
    # unauthenticated client learns nothing about limits.
    form = await request.form()
    raw = form.get("metadata")
    limit = platform.settings.uploads.max_metadata_bytes
    if isinstance(raw, str) and len(raw.encode()) > limit:
        raise PayloadTooLarge(f"metadata exceeds {limit} bytes")


@router.post(
    "/assets",
    status_code=http.HTTP_202_ACCEPTED,
    response_model=AssetCreated,
    dependencies=[Depends(_metadata_within_limit)],
)
async def create_asset(
    platform: PlatformDep,
    principal: Writer,
    metadata: Annotated[
        Json[AssetMetadata],
        Form(
            description="An `AssetMetadata` JSON object (title, seller_id, price, tags...).",
            examples=[METADATA_EXAMPLE],
        ),
    ],
    files: Annotated[
        list[UploadFile], File(description="The asset's files (models, scripts...).")
    ] = [],  # noqa: B006 - FastAPI copies parameter defaults per request
    images: Annotated[
        list[UploadFile], File(description="Preview images (PNG, JPEG, WebP...).")
    ] = [],  # noqa: B006
) -> dict[str, Any]:
    """Create an asset from `multipart/form-data`: a `metadata` field holding an
    `AssetMetadata` JSON object, and any number of `files` and `images` parts.
    Every file is sniffed and checked before anything is stored. Answers 202:
    the asset is `pending` until its pipeline job (`links.job`) finishes.

        curl -H "Authorization: Bearer $KEY" \\
             -F 'metadata={"title": "Low-poly tank", "seller_id": "s1"}' \\
             -F files=@tank.glb -F images=@tank.png \\
             http://localhost:8000/api/v1/assets
    """
    limits = platform.settings.uploads
    if len(files) + len(images) > limits.max_files:
        raise PayloadTooLarge(f"at most {limits.max_files} files per asset")
    file_uploads = [await _read_upload(f, limits.max_file_bytes) for f in files]
    image_uploads = [await _read_upload(f, limits.max_file_bytes) for f in images]
    # Sniffing, hashing, blob and catalog writes block: keep the event loop free.
    created = await run_in_threadpool(
        platform.assets.create, metadata, file_uploads, image_uploads, principal.actor
    )
    return {
        "id": created.asset_id,
        "job_id": created.job_id,
        "status": AssetStatus.PENDING,
        "links": {
            "self": f"/api/v1/assets/{created.asset_id}",
            "job": f"/api/v1/jobs/{created.job_id}",
        },
    }


@router.post(
    "/assets:batch",
    status_code=http.HTTP_202_ACCEPTED,
    response_model=AssetImport,
    openapi_extra=json_lines_body(
        AssetMetadata,
        IMPORT_EXAMPLE,
        "JSON Lines (NDJSON): one `AssetMetadata` object per line (the schema shown is "
        "that of one line). Blank lines are skipped; lines are numbered as in the file.",
    ),
)
async def import_assets(lines: JsonLinesBody, platform: PlatformDep, principal: Writer) -> Any:
    """Bulk import: one `AssetMetadata` JSON object per line, without files.
    Every line is tried on its own and answered in `results` (a bad line never
    stops the rest); at most `uploads.max_batch_lines` lines per request (413).

    The import as a whole is a job: poll `links.job` (`GET /api/v1/jobs/{job_id}`)
    for `percent` and its `result` counters (`total`, `accepted`, `rejected`,
    `processed`, `failed`); it succeeds when every accepted asset's pipeline has
    finished.

        curl -H "Authorization: Bearer $KEY" -H "Content-Type: application/x-ndjson" \\
             --data-binary @assets.jsonl http://localhost:8000/api/v1/assets:batch
    """
    report = await run_in_threadpool(platform.asset_import().run, lines, principal.actor)
    accepted = report.accepted
    return {
        "job_id": report.job_id,
        "total": len(report.results),
        "accepted": accepted,
        "rejected": len(report.results) - accepted,
        "results": report.results,
        "links": {"job": f"/api/v1/jobs/{report.job_id}"},
    }


@router.get("/assets", response_model=AssetPage)
def list_assets(
    platform: PlatformDep,
    _: Reader,
    status_: Annotated[AssetStatus | None, Query(alias="status")] = None,
    seller_id: Annotated[str | None, Query(max_length=128)] = None,
    category: Annotated[str | None, Query(max_length=128)] = None,
    min_price: Annotated[Decimal | None, Query(ge=0)] = None,
    max_price: Annotated[Decimal | None, Query(ge=0)] = None,
    in_stock: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`next_cursor` of the previous page.")
    ] = None,
) -> dict[str, Any]:
    """Newest first, filtered, cursor-paginated (pass `next_cursor` back as `cursor`)."""
    items, next_cursor = platform.assets.list(
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


@router.get("/assets/{asset_id}", response_model=Asset)
def get_asset(asset_id: AssetId, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """One asset with its status."""
    return platform.assets.get(asset_id)


@router.patch("/assets/{asset_id}", response_model=Asset)
async def patch_asset(
    asset_id: AssetId, body: AssetPatch, platform: PlatformDep, principal: Writer
) -> dict[str, Any]:
    """Change the fields sent (`null` clears an optional one). Changing `status`
    is a moderation decision: it needs the `moderator` scope."""
    may_moderate = principal.has(Scope.MODERATOR.value)
    if "status" in body.model_fields_set and not may_moderate:
        raise Forbidden("changing an asset's status needs the 'moderator' scope")
    return await run_in_threadpool(
        functools.partial(
            platform.assets.update,
            asset_id,
            body,
            principal.actor,
            may_moderate=may_moderate,
        )
    )


@router.delete("/assets/{asset_id}", status_code=http.HTTP_204_NO_CONTENT, response_class=Response)
def delete_asset(asset_id: AssetId, platform: PlatformDep, principal: Writer) -> Response:
    """Remove an asset (soft delete: status `removed`, kept for audit; audited)."""
    platform.assets.remove(asset_id, principal.actor)
    return Response(status_code=http.HTTP_204_NO_CONTENT)


@router.get("/assets/{asset_id}/results", response_model=ProcessingResults)
def processing_results(asset_id: AssetId, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Per-step pipeline results, oldest first: model@version, output,
    confidence, hold, duration."""
    return {"asset_id": asset_id, "results": platform.assets.processing_results(asset_id)}


@router.get(
    "/assets/{asset_id}/images/{index}",
    response_class=Response,
    responses={
        200: {
            "description": "The image's bytes, with its sniffed media type.",
            "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def asset_image(
    asset_id: AssetId,
    index: Annotated[int, Path(ge=0, description="0-based position in `images`.")],
    platform: PlatformDep,
    _: Reader,
) -> Response:
    """Raw bytes of one of the asset's images, with its sniffed media type."""
    images = platform.assets.get(asset_id)["images"]
    if index >= len(images):
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
