"""The operator console: the platform in the browser, at ``/console/``.

Server-rendered pages (FastAPI + Jinja2) with htmx for partial updates, uPlot
for charts and ``<model-viewer>`` for 3D previews, all served from this
package's ``static/vendor`` (vendored from npm by ``make vendor``; no CDN, so
the console works offline). Pages call the same services as the API routers
and act with the signed-in key: what a user sees and may do follows its scopes,
and every action is audited with it.

Example:
    >>> install_console(app)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import inspect

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ExceptionHandler

from agora.console.auth import CsrfRefused, ScopeMissing, SignInRequired
from agora.console.render import HERE, PREFIX, STATIC
from agora.console.session import SessionStore
from agora.errors import AgoraError

__all__ = ["PREFIX", "install_console"]

PAGES = (
    "agora.console.routes.signin",
    "agora.console.routes.overview",
    "agora.console.routes.catalog",
    "agora.console.routes.search",
    "agora.console.routes.recommendations",
    "agora.console.routes.moderation",
    "agora.console.routes.tags",
    "agora.console.routes.models",
    "agora.console.routes.drift",
    "agora.console.routes.alerts",
    "agora.console.routes.jobs",
    "agora.console.routes.audit",
    "agora.console.routes.admin",
)


def _sign_in(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    target = f"{PREFIX}/sign-in?next={exc.next_path}"
    if request.headers.get("hx-request"):
        # htmx would swap the sign-in page into a fragment: make it navigate instead.
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _refused(request: Request, exc: Exception) -> Response:
    from agora.console.auth import operator
    from agora.console.render import bare, page

    status = 403
    title = "Not allowed" if isinstance(exc, ScopeMissing) else "Form refused"
    try:
        op = operator(request)
    except SignInRequired as again:
        return _sign_in(request, again)
    if request.headers.get("hx-request"):
        return bare(request, "partials/refused.html", status_code=status, message=str(exc))
    return page(request, "error.html", op, "", status, title=title, message=str(exc))


def _page_error(fallback: ExceptionHandler | None) -> ExceptionHandler:
    """Domain errors on console pages as a console page (404 for an unknown
    asset...); elsewhere, and for non-page requests, the API's problem+json."""

    async def handle(request: Request, exc: Exception) -> Response:
        wants_page = "text/html" in request.headers.get("accept", "")
        if request.url.path.startswith(f"{PREFIX}/") and wants_page:
            from agora.console.auth import operator
            from agora.console.render import page

            assert isinstance(exc, AgoraError)
            try:
                op = operator(request)
            except SignInRequired as again:
                return _sign_in(request, again)
            return page(
                request, "error.html", op, "", exc.status, title=exc.title, message=str(exc)
            )
        if fallback is None:
            raise exc
        # The API's problem+json handler (an HTTP one: it takes a Request).
        result = fallback(request, exc)  # type: ignore[arg-type]
        answer = await result if inspect.isawaitable(result) else result
        assert answer is not None
        return answer

    return handle


def install_console(app: FastAPI) -> None:
    """Mount the console's pages and static files on ``app``."""
    settings = app.state.platform.settings
    app.state.console_sessions = SessionStore(settings.security.console_idle_timeout_s)
    app.mount(STATIC, StaticFiles(directory=HERE / "static"), name="console-static")
    for name in PAGES:
        app.include_router(
            importlib.import_module(name).router, prefix=PREFIX, include_in_schema=False
        )
    app.add_exception_handler(SignInRequired, _sign_in)
    app.add_exception_handler(ScopeMissing, _refused)
    app.add_exception_handler(CsrfRefused, _refused)
    app.add_exception_handler(AgoraError, _page_error(app.exception_handlers.get(AgoraError)))
