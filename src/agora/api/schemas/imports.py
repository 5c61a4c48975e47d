"""Resumable imports: the status and end report of an import by import id."""

from __future__ import annotations

from pydantic import Field

from agora.api.schemas.common import ResponseModel
from agora.domain import JobStatus

__all__ = ["ImportRejection", "ImportReportLinks", "ImportStatus"]


class ImportRejection(ResponseModel):
    """One refused item, by its 1-based position in the source."""

    line: int = Field(description="Position in the source: JSON line, Parquet row or image.")
    name: str | None = Field(default=None, description="The image's file name (image folders).")
    status: int | None = Field(description="HTTP status the item alone would get.")
    error: str | None = Field(description="Why it was refused.")


class ImportReportLinks(ResponseModel):
    """Where to follow the import."""

    job: str = Field(description="The import's batch job (`GET /api/v1/jobs/{id}`).")


class ImportStatus(ResponseModel):
    """Progress and end report of an import sent with an `import_id`.

    `accepted` and `rejected` count distinct items (a re-sent item counts
    once); `processed` counts accepted assets whose pipeline ended, `failed`
    those of them that failed. The import is done when `complete` and
    `processed == accepted` (its `status` is then `succeeded`)."""

    import_id: str
    status: JobStatus = Field(description="`running` until complete and every asset processed.")
    complete: bool = Field(description="Whether the client said the import has no more items.")
    deferred: bool = Field(
        description="Pipelines held until the import completes (`--defer-models`)."
    )
    accepted: int = Field(description="Items that became assets.")
    rejected: int = Field(description="Items refused (the latest attempt of each).")
    processed: int = Field(description="Accepted assets whose pipeline has ended.")
    failed: int = Field(description="Of those, pipelines that failed or were cancelled.")
    percent: float = Field(ge=0, le=100, description="(rejected + processed) / items.")
    rejections: list[ImportRejection] = Field(
        description="The first refused items by position (`rejections_limit` of them)."
    )
    links: ImportReportLinks
