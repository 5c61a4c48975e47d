"""Audit log: filtered, paginated reading and chain verification (admin only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from agora.api.deps import Admin, PlatformDep
from agora.api.schemas.audit import AuditPage, ChainReport
from agora.governance.audit import MAX_QUERY_LIMIT

router = APIRouter(tags=["audit"])
Text = Annotated[str | None, Query(max_length=128)]


@router.get("/audit", response_model=AuditPage)
def list_audit(
    platform: PlatformDep,
    _: Admin,
    subject_type: Text = None,
    subject_id: Text = None,
    action: Text = None,
    actor: Text = None,
    since: Annotated[datetime | None, Query(description="Entries at or after (ISO 8601).")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_QUERY_LIMIT)] = 100,
    cursor: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="`next_cursor` of the previous page.")
    ] = None,
) -> dict[str, Any]:
    """Entries newest first; pass `next_cursor` back as `cursor` for the next page."""
    page = platform.audit.query(
        subject_type=subject_type,
        subject_id=subject_id,
        action=action,
        actor=actor,
        since=since,
        limit=limit,
        cursor=cursor,
    )
    return {"entries": [e.to_dict() for e in page.entries], "next_cursor": page.next_cursor}


@router.get("/audit/verify", response_model=ChainReport)
def verify_audit(platform: PlatformDep, _: Admin) -> dict[str, Any]:
    """Walk the hash chain; `ok` is false with the first bad `seq` if it was tampered with."""
    return platform.audit.verify().to_dict()
