"""Jobs, pipelines and scheduler: recent jobs with progress bars that refresh
themselves (htmx polling while any job runs), cancel (admin); the orchestrated
pipelines to run now; the scheduled jobs to pause and resume. Every action is
audited with the signed-in key."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agora.console.auth import Admin, CheckedDep, Operator, Reader
from agora.console.render import PREFIX, bare, page
from agora.errors import AgoraError
from agora.storage.jobs import JobStatus

router = APIRouter()
LIMIT = 30
JobId = Annotated[str, Path(min_length=1, max_length=64)]
ENDED = frozenset(s.value for s in JobStatus if s.ended)
STATUSES = [s.value for s in JobStatus]


def _jobs(op: Operator, kind: str, status: str) -> list[dict[str, Any]]:
    return op.platform.jobs.list(
        kind=kind or None, status=status if status in STATUSES else None, limit=LIMIT
    )


def _back(message: str) -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/jobs?flash={quote(message[:280])}", status_code=303)


@router.get("/jobs", response_class=HTMLResponse)
def jobs(
    request: Request,
    op: Reader,
    kind: Annotated[str, Query(max_length=64)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    flash: Annotated[str, Query(max_length=300)] = "",
) -> HTMLResponse:
    """Jobs, pipelines and the schedule."""
    orchestrator = op.platform.orchestrator()
    scheduler = op.platform.scheduler(orchestrator)
    scheduler.ensure_defaults()
    found = _jobs(op, kind, status)
    return page(
        request,
        "jobs.html",
        op,
        "jobs",
        title="Jobs & scheduler",
        jobs=found,
        live=any(j["status"] not in ENDED for j in found),
        ended=ENDED,
        statuses=STATUSES,
        f={"kind": kind, "status": status},
        pipelines=orchestrator.registry.infos(),
        schedule=scheduler.jobs(),
        flash=flash or None,
        flash_kind="error" if flash.startswith("Refused") else "ok",
    )


@router.get("/jobs/table", response_class=HTMLResponse)
def jobs_table(
    request: Request,
    op: Reader,
    kind: Annotated[str, Query(max_length=64)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    """The jobs table alone, for htmx polling (it stops polling once every job ended)."""
    found = _jobs(op, kind, status)
    return bare(
        request,
        "partials/jobs_table.html",
        op=op,
        jobs=found,
        live=any(j["status"] not in ENDED for j in found),
        ended=ENDED,
        csrf=op.csrf,
        f={"kind": kind, "status": status},
    )


@router.post("/jobs/{job_id}/cancel")
def cancel(job_id: JobId, op: Admin, _: CheckedDep) -> Response:
    """Cancel a job that has not ended (a running one stops at its next progress report)."""
    try:
        op.platform.jobs.cancel(job_id)
        op.platform.audit.record(op.actor, "job.cancelled", "job", job_id)
        return _back(f"job {job_id} cancelled")
    except AgoraError as exc:
        return _back(f"Refused: {exc}")


@router.post("/pipelines/run")
def run_pipeline(
    op: Admin, _: CheckedDep, name: Annotated[str, Form(min_length=1, max_length=64)]
) -> Response:
    """Queue an orchestrated pipeline now."""
    try:
        job_id = op.platform.orchestrator().submit(name, created_by=op.actor)
        op.platform.audit.record(
            op.actor, "pipeline.submitted", "job", job_id, details={"task": name}
        )
        return _back(f"{name} queued as job {job_id}")
    except AgoraError as exc:
        return _back(f"Refused: {exc}")


@router.post("/schedule/{job_id}/{action}")
def pause_or_resume(
    job_id: JobId,
    action: Annotated[str, Path(pattern="^(pause|resume)$")],
    op: Admin,
    _: CheckedDep,
) -> Response:
    """Pause or resume a scheduled job."""
    scheduler = op.platform.scheduler()
    try:
        scheduler.pause(job_id) if action == "pause" else scheduler.resume(job_id)
        op.platform.audit.record(op.actor, f"schedule.{action}d", "scheduled_job", job_id)
        return _back(f"scheduled job {job_id} {action}d")
    except AgoraError as exc:
        return _back(f"Refused: {exc}")
