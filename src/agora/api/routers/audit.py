"""Audit log: filtered, paginated reading and chain verification (admin only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query

from agora.api.deps import Admin, PlatformDep
from agora.governance.audit import MAX_QUERY_LIMIT

router = APIRouter(tags=["audit"])


@router.get("/audit")
def list_audit(
    platform: PlatformDep,
    _: Admin,
    subject_type: str | None = None,
    subject_id: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    limit: int = Query(100, ge=1, le=MAX_QUERY_LIMIT),
    cursor: int | None = Query(None, ge=1, le=2**63 - 1),
) -> dict[str, Any]:
    """Entries newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
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


@router.get("/audit/verify")
def verify_audit(platform: PlatformDep, _: Admin) -> dict[str, Any]:
    """Walk the hash chain; ``ok`` is false with the first bad ``seq`` if it was tampered with."""
    return platform.audit.verify().to_dict()
