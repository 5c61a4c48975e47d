"""Assets: the catalog view, create and import answers, pipeline results.

Request bodies are the catalog's own input models (``AssetMetadata``,
``AssetPatch``), re-exported here so a client finds every asset shape in one
module.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from agora.api.schemas.common import JSONObject, ResponseModel, UtcDatetime
from agora.catalog.schemas import AssetMetadata, AssetPatch, GeoPoint
from agora.domain import AssetStatus

__all__ = [
    "Asset",
    "AssetCreated",
    "AssetImport",
    "AssetLinks",
    "AssetMetadata",
    "AssetPage",
    "AssetPatch",
    "FieldError",
    "FileRef",
    "GeoPoint",
    "ImportLine",
    "ImportLinks",
    "ProcessingResult",
    "ProcessingResults",
]


class FileRef(ResponseModel):
    """A stored file or image of an asset (content-addressed)."""

    sha256: str
    size: int = Field(description="Bytes.")
    media_type: str = Field(description="Sniffed from the content, never taken from the client.")
    name: str | None = Field(default=None, description="The client's file name.")
    kind: str | None = Field(
        default=None, description="image, model3d, script, archive, document or other."
    )
    extension_matches: bool | None = Field(
        default=None, description="Whether the file name's extension fits the sniffed type."
    )


class PipelineStages(ResponseModel):
    """Stages of the post-upload pipeline the asset has reached."""

    moderated: bool = Field(description="Moderation has answered.")
    keyword_searchable: bool = Field(description="Active and in the keyword index.")
    semantic_searchable: bool = Field(description="Active and its text vector is indexed.")
    image_searchable: bool = Field(description="Active and its image vectors are indexed.")
    tagged: bool = Field(description="Auto-tagging has answered with tags.")
    processed: bool = Field(description="Every step has answered (`processed_at` is set).")


class PipelineState(ResponseModel):
    """The asset's newest pipeline job and what it has done so far."""

    job_id: str | None = Field(description="Null until the first step has answered.")
    steps_done: list[str] = Field(description="Steps whose result is recorded.")
    stages: PipelineStages


class Asset(ResponseModel):
    """An asset as the catalog holds it."""

    id: str
    seller_id: str
    title: str
    description: str
    tags: list[str] = Field(description="The creator's tags.")
    category: str | None = None
    price: float | None = None
    currency: str | None = Field(default=None, description="ISO 4217, upper case.")
    files: list[FileRef]
    images: list[FileRef]
    format: str | None = None
    status: AssetStatus
    stock: int | None = Field(default=None, description="None: unlimited (digital goods).")
    geo: GeoPoint | None = None
    attributes: JSONObject
    revision: int = Field(description="Grows by one on every change.")
    created_at: UtcDatetime
    updated_at: UtcDatetime
    processed_at: UtcDatetime | None = Field(
        default=None, description="When the post-upload pipeline settled the asset."
    )
    pipeline: PipelineState | None = Field(
        default=None, description="Pipeline stages reached (on a single asset's read)."
    )


class AssetPage(ResponseModel):
    """A page of assets, newest first."""

    items: list[Asset]
    next_cursor: str | None = Field(
        description="Pass back as `cursor` for the next page; null on the last page."
    )


class AssetLinks(ResponseModel):
    """Where to follow a created asset."""

    model_config = ConfigDict(populate_by_name=True)

    self_: str = Field(alias="self", description="The asset.")
    job: str = Field(description="Its pipeline job (status and percent).")


class AssetCreated(ResponseModel):
    """Answer to a create: the asset exists (``pending``) and its pipeline is queued."""

    id: str
    job_id: str
    status: AssetStatus = Field(description="Always `pending` here.")
    links: AssetLinks


class FieldError(ResponseModel):
    """One validation error: where (``loc``), what (``msg``), which rule (``type``)."""

    loc: list[str | int]
    msg: str
    type: str


class ImportLine(ResponseModel):
    """What happened to one line of a bulk import, in input order."""

    line: int = Field(description="1-based number among the non-blank lines.")
    accepted: bool
    id: str | None = Field(default=None, description="The new asset (accepted lines).")
    job_id: str | None = Field(default=None, description="Its pipeline job (accepted lines).")
    status: int | None = Field(
        default=None, description="HTTP status the line alone would get (rejected lines)."
    )
    error: str | None = None
    errors: list[FieldError] | None = Field(
        default=None, description="Each validation error of the line (status 422)."
    )


class ImportLinks(ResponseModel):
    """Where to follow an import."""

    job: str = Field(description="The import's job: poll it for progress.")


class AssetImport(ResponseModel):
    """Answer to a bulk import: per-line results and the import's own job.

    Poll ``GET /api/v1/jobs/{job_id}`` for the import as a whole: its
    ``result`` holds ``total``, ``accepted``, ``rejected``, ``processed`` and
    ``failed`` (see ``ImportProgress``), its ``percent`` counts rejected lines
    and processed assets, and it succeeds once every accepted asset's pipeline
    has finished."""

    job_id: str = Field(description="The import's job: progress of the import as a whole.")
    total: int = Field(description="Non-blank lines received.")
    accepted: int = Field(description="Lines that became assets (now `pending`).")
    rejected: int
    results: list[ImportLine] = Field(
        description="One result per line; with an `import_id`, the rejected lines only "
        "(`GET /api/v1/imports/{import_id}` has them all)."
    )
    links: ImportLinks
    import_id: str | None = Field(
        default=None, description="The resumable import this request added to (if any)."
    )
    skipped: int = Field(
        default=0, description="Lines accepted by an earlier request of the same import."
    )


class ProcessingResult(ResponseModel):
    """One pipeline step's result for an asset."""

    job_id: str
    step: str
    model: str = Field(description="name@version of what ran.")
    output: JSONObject = Field(description="The step's own output.")
    confidence: float | None = None
    hold: bool = Field(description="Whether this step held the asset for review.")
    duration_ms: float
    created_at: UtcDatetime


class ProcessingResults(ResponseModel):
    """Every recorded step result of an asset, oldest first."""

    asset_id: str
    results: list[ProcessingResult]
