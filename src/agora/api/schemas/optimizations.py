"""Media optimisations (issue 25): request them, follow the jobs, list derivatives."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from agora.api.schemas.common import JSONObject, RequestModel, ResponseModel, UtcDatetime
from agora.processing.options import (
    ConvertOptions,
    LodOptions,
    Operation,
    ThumbnailOptions,
    UpscaleOptions,
)

__all__ = [
    "Derivative",
    "DerivativeFile",
    "DerivativeList",
    "OptimizationJob",
    "OptimizationRequest",
    "OptimizationRequested",
]


class UpscaleItem(RequestModel):
    """Texture upscaling x4 (Real-ESRGAN fast/quality, or Lanczos)."""

    operation: Literal["upscale"]
    options: UpscaleOptions = Field(default_factory=UpscaleOptions)


class LodItem(RequestModel):
    """Mesh decimation into a LOD chain, each level's error measured."""

    operation: Literal["lods"]
    options: LodOptions = Field(default_factory=LodOptions)


class ConvertItem(RequestModel):
    """Format conversion of a 3D model or an image."""

    operation: Literal["convert"]
    options: ConvertOptions


class ThumbnailItem(RequestModel):
    """Thumbnails (and a turntable for 3D models)."""

    operation: Literal["thumbnails"]
    options: ThumbnailOptions = Field(default_factory=ThumbnailOptions)


OptimizationItem = Annotated[
    UpscaleItem | LodItem | ConvertItem | ThumbnailItem, Field(discriminator="operation")
]


class OptimizationRequest(RequestModel):
    """Operations to run on one asset's files, each with its options."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                {
                    "operations": [
                        {"operation": "lods", "options": {"ratios": [1, 0.5, 0.25, 0.1]}},
                        {"operation": "upscale", "options": {"model": "fast", "tileable": True}},
                        {"operation": "convert", "options": {"target": "obj"}},
                        {"operation": "thumbnails", "options": {"sizes": [128, 512]}},
                    ]
                }
            ]
        },
    )

    operations: list[OptimizationItem] = Field(min_length=1, max_length=8)


class OptimizationJob(ResponseModel):
    """The job that runs (or ran) one requested operation."""

    job_id: str = Field(description="Follow it with GET /api/v1/jobs/{job_id}.")
    operation: Operation
    options: JSONObject = Field(description="The options with every default filled in.")
    status: str
    deduplicated: bool = Field(
        description="True when an identical request (same asset revision, operation and "
        "options) was already queued, running or done: its job is returned."
    )


class OptimizationRequested(ResponseModel):
    """The jobs of one request, in the order asked."""

    asset_id: str
    jobs: list[OptimizationJob]


class DerivativeFile(ResponseModel):
    """One derived file."""

    name: str
    sha256: str
    size: int
    media_type: str
    download_url: str | None = Field(
        description="A presigned URL (S3 blob store), valid for blobs.presign_expiry_s; "
        "null with the local blob store."
    )


class Derivative(ResponseModel):
    """One version of derived files: versioned by (source sha256, operation,
    options, model@version)."""

    asset_id: str
    asset_revision: int
    source_sha256: str
    operation: Operation
    version: str = Field(description="Hash of source, operation, options and model.")
    options: JSONObject
    model: str = Field(description="name@version of the algorithm or network.")
    files: list[DerivativeFile]
    meta: JSONObject = Field(
        description="lods: faces and Hausdorff error per level; convert: what was lost; "
        "upscale: sizes, tiles, fallback."
    )
    job_id: str | None
    created_at: UtcDatetime


class DerivativeList(ResponseModel):
    """An asset's derivatives, newest first."""

    asset_id: str
    items: list[Derivative]
