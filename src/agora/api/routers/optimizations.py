"""Media optimisations: request upscaling, LODs, conversion and thumbnails of
an asset's files; cancel them; list the versioned derivatives."""

from __future__ import annotations

import functools
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi import status as http
from starlette.concurrency import run_in_threadpool

from agora.api.deps import PlatformDep, Reader, Writer
from agora.api.schemas.jobs import Job
from agora.api.schemas.optimizations import (
    DerivativeList,
    OptimizationRequest,
    OptimizationRequested,
)
from agora.processing.options import Operation, OptimizationSpec

router = APIRouter(tags=["optimizations"])
AssetId = Annotated[str, Path(min_length=1, max_length=128, description="The asset's id.")]
JobId = Annotated[str, Path(min_length=1, max_length=64, description="The job's id.")]


@router.post(
    "/assets/{asset_id}/optimizations",
    status_code=http.HTTP_202_ACCEPTED,
    response_model=OptimizationRequested,
)
async def request_optimizations(
    asset_id: AssetId, body: OptimizationRequest, platform: PlatformDep, principal: Writer
) -> dict[str, Any]:
    """Queue optimisations of the asset's files (`upscale`, `lods`, `convert`,
    `thumbnails`), one job each, published as `asset.optimization.requested`
    for the workers. Idempotent: the same asset revision, operation and options
    return the job already queued, running or done. Follow a job with
    `GET /api/v1/jobs/{job_id}` (percent and current step); its outputs appear
    in `GET /api/v1/assets/{asset_id}/derivatives`."""
    specs = [
        OptimizationSpec(operation=item.operation, options=item.options.model_dump(mode="json"))
        for item in body.operations
    ]
    jobs = await run_in_threadpool(
        functools.partial(platform.optimizations.request, asset_id, specs, actor=principal.actor)
    )
    return {"asset_id": asset_id, "jobs": jobs}


@router.post("/assets/{asset_id}/optimizations/{job_id}/cancel", response_model=Job)
def cancel_optimization(
    asset_id: AssetId, job_id: JobId, platform: PlatformDep, _: Writer
) -> dict[str, Any]:
    """Cancel a queued or running optimisation (a running one stops at its next
    step and stores nothing); 409 when it has already ended."""
    return platform.optimizations.cancel(asset_id, job_id)


@router.get("/assets/{asset_id}/derivatives", response_model=DerivativeList)
def list_derivatives(
    asset_id: AssetId,
    platform: PlatformDep,
    _: Reader,
    operation: Annotated[Operation | None, Query(description="Only this operation's.")] = None,
) -> dict[str, Any]:
    """Every derivative version of the asset, newest first, with presigned
    download URLs when the blob store is S3."""
    items = platform.optimizations.derivatives(asset_id, operation=operation)
    return {"asset_id": asset_id, "items": items}
