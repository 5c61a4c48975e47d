"""API documentation pages served from files the package ships: ``/docs``
(Swagger UI) and ``/redoc`` (ReDoc), both working with no network access.

The front-end files are vendored from npm (``web/package.json``, ``make vendor``)
into ``agora/api/static/vendor``; no page loads from a CDN, fonts included.
Both pages declare their language, and Swagger UI gets Agora's accessibility
fixes (``static/docs/swagger-a11y.css``: contrast; ``.js``: labels and names)
and no deep links (they nest a link inside each operation's button):
tests/e2e/test_browser_harness.py runs axe-core on it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).with_name("static")
STATIC_PATH = "/static"
SWAGGER = f"{STATIC_PATH}/vendor/swagger-ui-dist"
REDOC = f"{STATIC_PATH}/vendor/redoc"
SWAGGER_FIXES = f"{STATIC_PATH}/docs/swagger-a11y"  # .css and .js

router = APIRouter(include_in_schema=False)


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _accessible(page: HTMLResponse, *, fixes: str | None = None) -> HTMLResponse:
    """FastAPI's page with ``lang`` on ``<html>`` (screen readers pick the voice
    by it) and, optionally, Agora's fixes (``<fixes>.css`` after the vendored
    stylesheet, ``<fixes>.js`` at the end of the body)."""
    html = bytes(page.body).decode()
    html = html.replace("<html>", '<html lang="en">', 1)
    if fixes is not None:
        html = html.replace("</head>", f'<link rel="stylesheet" href="{fixes}.css">\n</head>', 1)
        html = html.replace("</body>", f'<script src="{fixes}.js"></script>\n</body>', 1)
    return HTMLResponse(html, status_code=page.status_code)


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI: try every operation with an API key (Authorize button)."""
    root = _root(request)
    page = get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title="Agora API",
        swagger_js_url=f"{root}{SWAGGER}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{SWAGGER}/swagger-ui.css",
        swagger_favicon_url=f"{root}{SWAGGER}/favicon-32x32.png",
        # No validator badge: it posts the document to validator.swagger.io.
        swagger_ui_parameters={
            "persistAuthorization": True,
            "validatorUrl": None,
            "displayRequestDuration": True,
            "tryItOutEnabled": True,
            # Deep links put an <a> inside each operation's <button>: a control
            # nested in a control, which keyboards and screen readers cannot use.
            "deepLinking": False,
        },
    )
    return _accessible(page, fixes=f"{root}{SWAGGER_FIXES}")


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc: the API reference as one readable page."""
    root = _root(request)
    page = get_redoc_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title="Agora API reference",
        redoc_js_url=f"{root}{REDOC}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{SWAGGER}/favicon-32x32.png",
        with_google_fonts=False,
    )
    return _accessible(page)


def install_docs(app: FastAPI) -> None:
    """Mount the vendored static files and the two documentation pages."""
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(router)
