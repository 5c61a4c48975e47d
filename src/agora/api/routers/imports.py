"""Resumable imports: status and end report, completion, image folders.

An import is started by the first ``POST /api/v1/assets:batch?import_id=...``
(JSON Lines or Parquet) or ``POST /api/v1/imports/{import_id}/images`` (an
image folder), fed by as many requests as the client likes, closed with
``complete``, and followed here until every accepted asset is processed.
"""

from __future__ import annotations

import functools
from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, File, Path, Query, UploadFile
from fastapi import status as http
from starlette.concurrency import run_in_threadpool

from agora.api.deps import PlatformDep, Reader, Writer
from agora.api.routers.assets import read_upload
from agora.api.schemas.assets import AssetImport
from agora.api.schemas.imports import ImportStatus
from agora.catalog import Upload
from agora.catalog.import_sessions import IMPORT_ID_PATTERN, ImportItem
from agora.catalog.import_sources import image_item, side_file
from agora.errors import PayloadTooLarge

router = APIRouter(tags=["imports"])
ImportId = Annotated[
    str, Path(pattern=IMPORT_ID_PATTERN, description="The client-supplied import id.")
]


@router.get("/imports/{import_id}", response_model=ImportStatus)
def import_status(
    import_id: ImportId,
    platform: PlatformDep,
    _: Reader,
    rejections_limit: Annotated[
        int, Query(ge=0, le=10_000, description="How many rejections to list.")
    ] = 100,
) -> dict[str, Any]:
    """Progress and end report of an import: accepted, rejected (with each
    reason), processed and failed. 404 problem for an unknown import id.

        curl -H "Authorization: Bearer $KEY" http://localhost:8000/api/v1/imports/catalog-1
    """
    return platform.import_sessions().status(import_id, limit=rejections_limit)


@router.post("/imports/{import_id}/complete", response_model=ImportStatus)
def complete_import(import_id: ImportId, platform: PlatformDep, principal: Writer) -> Any:
    """The import has no more items: its totals are final, a deferred import's
    pipelines start, and it succeeds once every accepted asset is processed.
    Completing twice changes nothing; 404 problem for an unknown import id."""
    return platform.import_sessions().complete(import_id, principal.actor)


def _import_images(
    platform: PlatformDep,
    import_id: str,
    actor: str,
    defer: bool,
    items: list[ImportItem],
    complete: bool,
) -> dict[str, Any]:
    sessions = platform.import_sessions()
    deferred = sessions.open(import_id, actor, defer=defer)
    sessions.admit(deferred=deferred)
    out = sessions.add(import_id, items, actor, deferred=deferred)
    if complete:
        sessions.complete(import_id, actor)
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


@router.post(
    "/imports/{import_id}/images",
    status_code=http.HTTP_202_ACCEPTED,
    response_model=AssetImport,
    responses={503: {"description": "Pipeline backlog full: retry after Retry-After."}},
)
async def import_images(
    import_id: ImportId,
    platform: PlatformDep,
    principal: Writer,
    images: Annotated[list[UploadFile], File(description="Images: one asset per image.")],
    metadata: Annotated[
        UploadFile | None,
        File(
            description="Side file (CSV, TSV or JSON Lines): one row per image, keyed by a "
            "`file` column (or `file_name`, `filename`, `image`), other columns as "
            "`AssetMetadata` fields. Images without a row get their file name as title.",
            examples=["file,title,seller_id,tags\ntank.png,Desert tank,s1,tank;2d\n"],
        ),
    ] = None,
    seller_id: Annotated[
        str | None, Query(max_length=128, description="Seller of images whose row names none.")
    ] = None,
    first_line: Annotated[
        int, Query(ge=1, description="Position in the folder of the first image sent.")
    ] = 1,
    complete: Annotated[bool, Query(description="These are the import's last images.")] = False,
    defer: Annotated[bool, Query(description="Hold the pipelines until complete.")] = False,
) -> Any:
    """Import part of an image folder: one asset per image, its metadata from
    the side file's row for that file name. Images are numbered by position
    from `first_line` (send the folder in a stable order): re-sending skips
    images already accepted. A bad side file is a 422 problem, and nothing of
    the request is imported; a bad image is rejected alone.

        curl -H "Authorization: Bearer $KEY" -F metadata=@metadata.csv \\
             -F images=@tank.png -F images=@coin.png \\
             "http://localhost:8000/api/v1/imports/sprites-1/images?complete=true"
    """
    limits = platform.settings.uploads
    if len(images) > limits.max_files:
        raise PayloadTooLarge(f"at most {limits.max_files} images per request")
    rows: dict[str, dict[str, Any]] = {}
    if metadata is not None:
        side: Upload = await read_upload(metadata, limits.max_request_bytes)
        rows = side_file(side.data, side.name)
    uploads = [await read_upload(image, limits.max_file_bytes) for image in images]
    items = [
        image_item(first_line + i, upload, rows.get(PurePosixPath(upload.name).name), seller_id)
        for i, upload in enumerate(uploads)
    ]
    return await run_in_threadpool(
        functools.partial(
            _import_images, platform, import_id, principal.actor, defer, items, complete
        )
    )
