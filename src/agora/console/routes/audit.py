"""Audit log (admin): search by subject, action and actor, newest first with a
cursor; the chain's head hash; verify the whole chain on demand (htmx)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from agora.console.auth import Admin
from agora.console.render import bare, page
from agora.errors import AgoraError

router = APIRouter()
PAGE_SIZE = 50
Text = Annotated[str, Query(max_length=128)]


@router.get("/audit", response_class=HTMLResponse)
def audit(
    request: Request,
    op: Admin,
    subject_type: Text = "",
    subject_id: Text = "",
    action: Text = "",
    actor: Text = "",
    cursor: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    """Entries newest first, filtered."""
    log = op.platform.audit
    error = None
    try:
        found = log.query(
            subject_type=subject_type or None,
            subject_id=subject_id or None,
            action=action or None,
            actor=actor or None,
            limit=PAGE_SIZE,
            cursor=cursor or None,
        )
        entries, next_cursor = found.entries, found.next_cursor
    except AgoraError as exc:  # a tampered cursor
        entries, next_cursor, error = [], None, str(exc)
    head = log.query(limit=1).entries
    return page(
        request,
        "audit.html",
        op,
        "audit",
        title="Audit log",
        entries=entries,
        next_cursor=next_cursor,
        head=head[0] if head else None,
        f={"subject_type": subject_type, "subject_id": subject_id}
        | {"action": action, "actor": actor},
        flash=error,
        flash_kind="error",
    )


@router.get("/audit/verify", response_class=HTMLResponse)
def verify(request: Request, op: Admin) -> HTMLResponse:
    """Walk the hash chain (htmx fragment)."""
    report = op.platform.audit.verify()
    return bare(request, "partials/audit_verify.html", report=report)
