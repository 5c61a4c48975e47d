"""Jobs: long tasks (pipeline runs, imports, training) with status and percent."""

from __future__ import annotations

from pydantic import Field

from agora.api.schemas.common import JSONObject, ResponseModel, UtcDatetime
from agora.domain import JobStatus

__all__ = ["ImportProgress", "Job", "JobList", "JobStatus"]


class Job(ResponseModel):
    """A job's status and progress. ``params`` and ``result`` depend on ``kind``:
    an ``import`` job's ``result`` is an ``ImportProgress``; a ``pipeline``
    job's is the asset's settled ``status``, the ``steps`` that ran and their
    ``holds``."""

    id: str
    kind: str = Field(description="pipeline, import, train, ... (what the job does).")
    subject_id: str | None = Field(default=None, description="What it works on (an asset id).")
    status: JobStatus
    percent: float = Field(ge=0, le=100)
    message: str | None = Field(default=None, description="The last progress message.")
    priority: int
    params: JSONObject
    result: JSONObject
    error: str | None = Field(default=None, description="Why it failed.")
    created_at: UtcDatetime
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None


class JobList(ResponseModel):
    """Recent jobs, newest first."""

    items: list[Job]


class ImportProgress(ResponseModel):
    """``result`` of an ``import`` job (``POST /api/v1/assets:batch``).

    ``percent`` is (rejected + processed) / total; the job succeeds when
    every accepted asset is processed."""

    total: int = Field(description="Lines received.")
    accepted: int | None = Field(description="Lines that became assets; null while submitting.")
    rejected: int = Field(description="Lines refused (each is answered in the import's response).")
    processed: int = Field(description="Accepted assets whose pipeline has finished.")
    failed: int = Field(description="Of those, pipelines that failed or were cancelled.")
