"""Sign-in and sign-out: paste an API key once, get a server-side session.

The sign-in form is protected by a double-submit token (a random cookie echoed
in the form) since there is no session yet; every later form carries the
session's own token. Both are audited with the key.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agora.console.auth import CheckedDep, sessions
from agora.console.render import PREFIX, bare
from agora.console.session import COOKIE
from agora.errors import Unauthenticated
from agora.runtime import Platform

router = APIRouter()
PRE_COOKIE = "agora_console_signin"


def _secure(request: Request) -> bool:
    # Behind a TLS-terminating proxy, uvicorn's --proxy-headers sets the scheme.
    return request.url.scheme == "https"


def _safe_next(value: str | None) -> str:
    """Only a path inside the console (no open redirect to another host)."""
    target = unquote(value or "")
    if not target.startswith(f"{PREFIX}/") or target.startswith("//") or "\\" in target:
        return f"{PREFIX}/"
    return target


def _form(request: Request, next_path: str, error: str | None, status: int) -> Response:
    platform: Platform = request.app.state.platform
    token = secrets.token_urlsafe(32)
    response = bare(
        request,
        "signin.html",
        status_code=status,
        csrf=token,
        next=next_path,
        error=error,
        idle_minutes=round(platform.settings.security.console_idle_timeout_s / 60),
    )
    response.set_cookie(
        PRE_COOKIE,
        token,
        httponly=True,
        secure=_secure(request),
        samesite="strict",
        path=PREFIX,
        max_age=3600,
    )
    return response


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, next: str | None = None) -> Response:
    """The sign-in page."""
    return _form(request, _safe_next(next), None, 200)


@router.post("/sign-in")
def sign_in(
    request: Request,
    api_key: Annotated[str, Form(max_length=512)],
    csrf: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    """Check the key, open a session, set the cookie, go where the user was going."""
    platform: Platform = request.app.state.platform
    expected = request.cookies.get(PRE_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf):
        return _form(request, _safe_next(next), "The form expired: sign in again.", 403)
    try:
        principal = platform.keys.authenticate(api_key.strip())
    except Unauthenticated as exc:
        return _form(request, _safe_next(next), f"That key does not work: {exc}.", 401)
    sid, _ = sessions(request).open(api_key.strip(), principal.key_id)
    platform.audit.record(principal.actor, "console.signed_in", "api_key", principal.key_id)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE, sid, httponly=True, secure=_secure(request), samesite="strict", path=PREFIX
    )
    response.delete_cookie(PRE_COOKIE, path=PREFIX)
    return response


@router.post("/sign-out")
def sign_out(request: Request, op: CheckedDep) -> Response:
    """Forget the session (audited) and go back to the sign-in page."""
    sessions(request).close(request.cookies.get(COOKIE))
    if op.session is not None:
        op.platform.audit.record(op.actor, "console.signed_out", "api_key", op.principal.key_id)
    response = RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path=PREFIX)
    return response
