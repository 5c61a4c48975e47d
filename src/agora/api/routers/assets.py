"""Assets: multipart create, read, list, patch, delete, bulk import (JSON Lines, Parquet)."""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, Response, UploadFile
from fastapi import status as http
from pydantic import Json
from starlette.concurrency import run_in_threadpool

from agora.api.deps import PlatformDep, Reader, Writer
from agora.api.import_stream import (
    PARQUET_MEDIA_TYPES,
    StreamTarget,
    stream_json_lines,
    stream_parquet,
)
from agora.api.jsonlines import (
    body_media_type,
    check_json_lines_media,
    json_lines_body,
    read_json_lines,
)
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
from agora.catalog.import_sessions import IMPORT_ID_PATTERN
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


async def read_upload(upload: UploadFile, limit: int) -> Upload:
    """The part's bytes; ``PayloadTooLarge`` past ``limit`` bytes."""
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
    file_uploads = [await read_upload(f, limits.max_file_bytes) for f in files]
    image_uploads = [await read_upload(f, limits.max_file_bytes) for f in images]
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


def _batch_body() -> dict[str, Any]:
    extra = json_lines_body(
        AssetMetadata,
        IMPORT_EXAMPLE,
        "JSON Lines (NDJSON): one `AssetMetadata` object per line (the schema shown is "
        "that of one line). Blank lines are skipped; lines are numbered as in the file. "
        "With an `import_id`, also Parquet (one row per asset, columns as the fields).",
    )
    binary = {
        "schema": {"type": "string", "format": "binary"},
        # A Parquet file is binary; the example says what its columns are.
        "example": "(Parquet: one row per asset; columns title, seller_id, price, tags...)",
    }
    extra["requestBody"]["content"] |= dict.fromkeys(PARQUET_MEDIA_TYPES, binary)
    return extra


@router.post(
    "/assets:batch",
    status_code=http.HTTP_202_ACCEPTED,
    response_model=AssetImport,
    openapi_extra=_batch_body(),
    responses={503: {"description": "Pipeline backlog full (with an `import_id`): Retry-After."}},
)
async def import_assets(
    request: Request,
    platform: PlatformDep,
    principal: Writer,
    import_id: Annotated[
        str | None,
        Query(
            pattern=IMPORT_ID_PATTERN,
            description="Makes the import resumable and streamed: lines of any number, "
            "recorded under this id; re-sending skips those already accepted.",
        ),
    ] = None,
    first_line: Annotated[
        int, Query(ge=1, description="Position in the source of the body's first line.")
    ] = 1,
    complete: Annotated[
        bool, Query(description="This body ends the import (`import_id` only).")
    ] = False,
    defer: Annotated[
        bool,
        Query(
            description="Hold the pipelines until the import completes and never refuse "
            "for backlog (`import_id` only; the first request decides)."
        ),
    ] = False,
) -> Any:
    """Bulk import: one `AssetMetadata` JSON object per line, without files.
    Every line is tried on its own (a bad line never stops the rest).

    Without `import_id`: at most `uploads.max_batch_lines` lines (413), each
    answered in `results`; poll `links.job` for the import's counters.

    With `import_id` (resumable): the body streams (any size; JSON Lines or
    Parquet), lines are numbered from `first_line`, re-sent lines already
    accepted are `skipped`, and `results` lists the rejected lines. While the
    pipeline backlog is over `uploads.import_max_backlog` the answer is 503
    with Retry-After (lines accepted before it are kept: re-send). Send
    `complete=true` with the last body (or `POST /api/v1/imports/{id}/complete`),
    and poll `GET /api/v1/imports/{import_id}` for processed counts and the
    end report.

        curl -H "Authorization: Bearer $KEY" -H "Content-Type: application/x-ndjson" \\
             --data-binary @assets.jsonl \\
             "http://localhost:8000/api/v1/assets:batch?import_id=catalog-1&complete=true"
    """
    if import_id is not None:
        return await _import_resumable(
            request, platform, principal.actor, import_id, first_line, complete, defer
        )
    lines = await read_json_lines(request, platform)
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


async def _import_resumable(
    request: Request,
    platform: PlatformDep,
    actor: str,
    import_id: str,
    first_line: int,
    complete: bool,
    defer: bool,
) -> dict[str, Any]:
    media = body_media_type(request)
    parquet = media in PARQUET_MEDIA_TYPES
    if not parquet:
        check_json_lines_media(media)
    sessions = platform.import_sessions()
    deferred = await run_in_threadpool(
        functools.partial(sessions.open, import_id, actor, defer=defer)
    )
    limits = platform.settings.uploads
    target = StreamTarget(
        sessions, import_id, actor, deferred, first_line, limits.max_metadata_bytes
    )
    if parquet:
        out = await stream_parquet(request, target, limits.max_request_bytes)
    else:
        out = await stream_json_lines(request, target)
    if complete:
        await run_in_threadpool(sessions.complete, import_id, actor)
    return {
        "job_id": import_id,
        "import_id": import_id,
        "total": out.accepted + out.rejected + out.skipped,
        "accepted": out.accepted,
        "rejected": out.rejected,
        "skipped": out.skipped,
        "results": [r | {"accepted": False} for r in out.rejections],
        "links": {"job": f"/api/v1/jobs/{import_id}"},
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
