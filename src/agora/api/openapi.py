"""The OpenAPI document: problem+json errors, scopes and the bearer scheme.

FastAPI writes error responses as ``application/json``; Agora answers every
error as ``application/problem+json`` (RFC 9457), so the document is rewritten
once, when first asked for, to say so. Each operation's description also names
the scope it needs (the same role its security requirement carries).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from agora.api.schemas.common import Problem

PROBLEM_MEDIA_TYPE = "application/problem+json"
SUMMARY = "Search, tagging, recommendations, ranking, moderation and MLOps for marketplaces."

# Documented on every /api/v1 operation; statuses an operation may also give
# (409, 413, 415, 503) are covered by ``default``.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "Malformed request (bad JSON, bad multipart)."},
    401: {"model": Problem, "description": "Missing, unknown or revoked API key."},
    403: {"model": Problem, "description": "The key lacks the scope, or consent forbids it."},
    404: {"model": Problem, "description": "An id that does not exist."},
    422: {"model": Problem, "description": "Well-formed but invalid input; `errors` lists each."},
    429: {"model": Problem, "description": "Over the key's rate limit; see `Retry-After`."},
    "default": {"model": Problem, "description": "Any other error, as problem+json."},
}

_TAGS = [
    ("assets", "Catalog: create (multipart), read, list, update, delete, bulk import."),
    ("imports", "Resumable bulk imports: status and end report, completion, image folders."),
    ("optimizations", "Media processing jobs (upscale, LODs, convert) and their derivatives."),
    ("quality", "Duplicates and re-uploads of an asset."),
    ("code review", "Review scripts and plugin archives before upload."),
    ("users and sellers", "Users and sellers with their attributes."),
    ("consent", "Per-user consent, versioned with history."),
    ("events", "User interaction events."),
    ("jobs", "Background jobs and their progress."),
    ("search", "Keyword, semantic, visual and hybrid search."),
    ("ranking", "Ranked feeds and ranked search (the multi-stage pipeline)."),
    ("recommendations", "Personal and item-to-item recommendations."),
    ("tagging", "Auto-tagging with a feedback loop."),
    ("moderation", "Text and image analysis, the review queue, decisions and appeals."),
    ("identity", "eKYC: face match of a selfie and a document photo, active liveness."),
    ("auto-reply", "Suggested chat replies from approved templates and past replies."),
    ("features", "The feature store: definitions and online reads."),
    ("overrides", "Operator overrides: boosts, bans, pins with expiry."),
    ("models", "Model registry, deployment, canary, drift."),
    ("alerts", "Stored alerts of the scheduled checks, acknowledged by operators."),
    ("pipelines", "Training and batch pipelines."),
    ("scheduler", "Scheduled jobs."),
    ("orchestrator", "The task queue shared by every process."),
    (
        "ai-pipelines",
        "Seed 003's pipeline API: recommendations, precompute, cache warm, tasks, "
        "orchestrator and scheduler, served by the same code as the routes above.",
    ),
    ("webhooks", "Outgoing webhooks and their deliveries."),
    ("keys", "API keys: create (the token is shown once), list, revoke (admin)."),
    ("audit", "The append-only, hash-chained audit log."),
    ("ops", "Health, readiness and metrics (no key needed)."),
]


def _is_error(status: str) -> bool:
    return status == "default" or status[:1] in {"4", "5"}


def _rewrite(document: dict[str, Any]) -> dict[str, Any]:
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, response in operation["responses"].items():
                content = response.get("content", {})
                if _is_error(str(status)) and "application/json" in content:
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
            roles = sorted(
                {r for req in operation.get("security", []) for rs in req.values() for r in rs}
            )
            if roles:
                note = f"**Scope:** `{'`, `'.join(roles)}` (or any higher scope)."
                operation["description"] = (
                    f"{operation.get('description', '').rstrip()}\n\n{note}".lstrip()
                )
    return document


def install_openapi(app: FastAPI) -> None:
    """Replace ``app.openapi`` with the rewritten, cached document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=SUMMARY,
                description=app.description,
                routes=app.routes,
                tags=[{"name": name, "description": text} for name, text in _TAGS],
            )
            app.openapi_schema = _rewrite(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
