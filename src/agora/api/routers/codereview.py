"""Code review: a synchronous check of a script or an archive before upload."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile
from starlette.concurrency import run_in_threadpool

from agora.api.deps import PlatformDep, Reader
from agora.api.schemas.codereview import CodeReviewResult
from agora.errors import InvalidInput, PayloadTooLarge

router = APIRouter(tags=["code review"])
SCRIPT_UPLOAD = File(
    description="A script (.py .lua .cs .js .ts .gd), a scene with built-in scripts "
    "(.tscn), or a ZIP/tar archive of them.",
    examples=["plugin.zip (binary)"],
)


@router.post("/code-review", response_model=CodeReviewResult)
async def code_review(
    platform: PlatformDep, _: Reader, file: Annotated[UploadFile, SCRIPT_UPLOAD]
) -> dict[str, Any]:
    """Review every script of the posted file the way the upload pipeline will:
    findings (rule, severity, lines, fix), a verdict per script and overall.
    Larger than ``codereview.max_upload_bytes``: 413; an archive bomb or a
    path-traversal member: 413/422; no script in it: 422."""
    limit = platform.settings.codereview.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"file exceeds the {limit}-byte limit")
    if not data:
        raise InvalidInput("empty file")
    name = file.filename or "upload"
    reviewer = await run_in_threadpool(lambda: platform.code_reviewer)
    review = await run_in_threadpool(reviewer.review_upload, name, data)
    if not review.files:
        raise InvalidInput(
            f"no script found in {name!r} (reviewed: .py .lua .cs .js .ts .gd, "
            ".tscn built-in scripts, ZIP/tar archives of them)"
        )
    return review.to_dict()
