"""Models: every model family with champion, challenger and canary share; a
model's versions with metrics, its canary's live comparison, and promote /
rollback / abort / start-canary actions behind a confirmation step (admin),
with the promotion history."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agora.console.auth import Admin, CheckedDep, Operator, Reader
from agora.console.render import PREFIX, page
from agora.errors import AgoraError
from agora.mlops.canary_judge import CanaryJudge

router = APIRouter()
Name = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")]
ACTIONS = {
    "promote": "Make version {version} the champion of {name} (default: the challenger)",
    "rollback": "Restore the previous champion of {name}",
    "abort": "Stop the canary of {name}: every user goes back to the champion",
    "challenge": "Start a canary of {name} version {version} on {share:.0%} of traffic "
    "(bypasses the evaluation gate)",
}


@router.get("/models", response_class=HTMLResponse)
def models(request: Request, op: Reader) -> HTMLResponse:
    """Every registered model and what serves."""
    names = op.platform.models.models()
    deployments = {d.model_name: d for d in op.platform.model_registry.deployments()}
    return page(
        request,
        "models.html",
        op,
        "models",
        title="Models",
        names=names,
        deployments=deployments,
    )


def _detail(op: Operator, name: str) -> dict[str, Any]:
    platform = op.platform
    versions = platform.models.versions(name)
    op.platform.canary_monitor.flush()
    verdict = CanaryJudge(platform.model_registry, platform.settings.mlops).judge(name)
    return {
        "name": name,
        "versions": list(reversed(versions)),
        "deployment": platform.model_registry.deployment(name),
        "verdict": verdict,
        "history": list(reversed(platform.model_registry.history(name)))[:30],
    }


@router.get("/models/{name}", response_class=HTMLResponse)
def model(
    request: Request, name: Name, op: Reader, flash: Annotated[str, Query(max_length=300)] = ""
) -> HTMLResponse:
    """One model: versions, deployment, canary, history."""
    detail = _detail(op, name)
    kind = "error" if flash.startswith("Refused") else "ok"
    return page(
        request, "model.html", op, "models", title=name, flash=flash, flash_kind=kind, **detail
    )


@router.post("/models/{name}/actions")
def act(
    request: Request,
    name: Name,
    op: Admin,
    _: CheckedDep,
    action: Annotated[str, Form(pattern="^(promote|rollback|abort|challenge)$")],
    version: Annotated[str, Form(max_length=64)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    share: Annotated[float, Form(gt=0, le=1)] = 0.1,
    confirmed: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """First post: a page that says what will happen; the confirmed post acts."""
    summary = ACTIONS[action].format(name=name, version=version or "(challenger)", share=share)
    if confirmed != "yes":
        return page(
            request,
            "model_confirm.html",
            op,
            "models",
            title=f"Confirm: {action} {name}",
            name=name,
            action=action,
            version=version,
            reason=reason,
            share=share,
            summary=summary,
        )
    registry, actor = op.platform.model_registry, op.actor
    why = reason.strip() or f"console {action}"
    try:
        if action == "promote":
            registry.promote(name, version or None, actor=actor, reason=why)
        elif action == "rollback":
            registry.rollback(name, actor=actor, reason=why)
        elif action == "abort":
            registry.abort_canary(name, actor=actor, reason=why)
        else:
            registry.challenge(name, version, actor=actor, reason=why, canary_share=share)
        flash = f"Done: {summary}."
    except AgoraError as exc:
        flash = f"Refused: {exc}"
    return RedirectResponse(f"{PREFIX}/models/{name}?flash={quote(flash[:280])}", status_code=303)
