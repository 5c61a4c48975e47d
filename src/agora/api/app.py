"""API gateway app factory. Every route lives under ``/api/v1``.

Example:
    >>> app = create_app(Platform.build(Settings.load()))  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from agora import __version__
from agora.api.docs import install_docs
from agora.api.openapi import PROBLEM_RESPONSES, install_openapi
from agora.api.problems import install_problem_handlers
from agora.api.query import EmptyQueryMiddleware
from agora.console import install_console
from agora.runtime import Platform

API_PREFIX = "/api/v1"

# One router module per capability; each exposes ``router``. Modules listed in
# ROOT_ROUTERS are mounted at the root (health, metrics, landing page).
V1_ROUTERS = (
    "agora.api.routers.assets",
    "agora.api.routers.optimizations",
    "agora.api.routers.imports",
    "agora.api.routers.users",
    "agora.api.routers.events",
    "agora.api.routers.jobs",
    "agora.api.routers.consent",
    "agora.api.routers.audit",
    "agora.api.routers.webhooks",
    "agora.api.routers.keys",
    "agora.api.routers.models",
    "agora.api.routers.alerts",
    "agora.api.routers.pipelines",
    "agora.api.routers.scheduler",
    "agora.api.routers.orchestrator",
    "agora.api.routers.ai_pipelines",  # seed 003's paths over the routes above
    "agora.api.routers.ranking",  # before search: /search/ranked is its own route
    "agora.api.routers.search",
    "agora.api.routers.features",
    "agora.api.routers.overrides",
    "agora.api.routers.recommendations",
    "agora.api.routers.moderation",
    "agora.api.routers.identity",
    "agora.api.routers.autoreply",
    "agora.api.routers.tagging",
    "agora.api.routers.codereview",
    "agora.api.routers.duplicates",
)
ROOT_ROUTERS = ("agora.api.routers.ops", "agora.api.routers.landing")
DESCRIPTION = """\
Agora is a self-hosted intelligence platform for online marketplaces: send it
your catalog and user events, get back search, tags, recommendations, ranked
feeds, moderation verdicts and the MLOps beneath them.

Every route lives under `/api/v1` and needs `Authorization: Bearer <key>`
(press **Authorize**). Every error is an RFC 9457 `application/problem+json`
body with `type`, `title`, `status` and `detail`.
"""


def create_app(platform: Platform, *, start_background: bool | None = None) -> FastAPI:
    """Build the FastAPI app around an already-built platform.

    ``start_background`` runs the in-process workers (pipeline, webhooks) for
    the app's lifetime; it defaults to the settings' ``run_workers_in_process``.
    """
    run_bg = (
        platform.settings.server.run_workers_in_process
        if start_background is None
        else start_background
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        background = None
        if run_bg:
            from agora.worker import InProcessWorkers

            background = InProcessWorkers(platform)
            background.start()
            from agora.api.warmup import warm_up_in_background

            app.state.warmup = warm_up_in_background(platform)
        from agora.mlops.background import MlopsBackground

        # Task runners come with the workers; the API process flushes its canary
        # figures and, in one-machine mode, runs the scheduler.
        in_process = platform.settings.mlops.scheduler_in_process and platform.settings.embedded
        orchestrator = platform.orchestrator()
        mlops_bg = MlopsBackground(
            orchestrator,
            platform.canary_monitor,
            scheduler=platform.scheduler(orchestrator) if run_bg and in_process else None,
            runners=False,
        )
        mlops_bg.start()
        try:
            yield
        finally:
            mlops_bg.stop()
            if background is not None:
                background.stop()

    app = FastAPI(
        title="Agora",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Served by agora.api.docs from vendored files (the defaults load a CDN).
        docs_url=None,
        redoc_url=None,
    )
    app.state.platform = platform
    install_problem_handlers(app)
    from agora.ops.middleware import install_ops

    install_ops(app, platform.settings)
    app.add_middleware(EmptyQueryMiddleware)
    for name in V1_ROUTERS:
        app.include_router(
            importlib.import_module(name).router, prefix=API_PREFIX, responses=PROBLEM_RESPONSES
        )
    for name in ROOT_ROUTERS:
        app.include_router(importlib.import_module(name).router)
    install_docs(app)
    install_console(app)
    install_openapi(app)
    return app
