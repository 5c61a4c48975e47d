"""Model registry: models, versions and aliases; deployment (champion/challenger),
promotion history, promote, rollback, canary, what serves, and drift.

Example:
    >>> client.post("/api/v1/models/ranking-pctr/rollback",
    ...             json={"reason": "CTR fell"})  # doctest: +SKIP
    <Response [200 OK]>
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import HTMLResponse

from agora.api.deps import Admin, PlatformDep, Reader
from agora.api.openapi import PROBLEM_MEDIA_TYPE, PROBLEM_RESPONSES
from agora.api.schemas.alerts import DriftHistory
from agora.api.schemas.models import (
    CanaryVerdict,
    ChallengerRequest,
    Deployment,
    ModelDrift,
    ModelList,
    ModelServing,
    ModelVersion,
    PromoteRequest,
    PromotionHistory,
    ReasonRequest,
    RegisteredModel,
)
from agora.errors import NotFound
from agora.mlops.base import ModelStore, ModelVersionInfo

if TYPE_CHECKING:
    from agora.mlops.drift_status import DriftStatus
    from agora.mlops.serving_report import ServingReports
    from agora.runtime import Platform

router = APIRouter(tags=["models"])
# An optional body: an empty request is the model's defaults (documented as the model).
_OPTIONAL = Body(None)
# The names the model store accepts (agora.mlops.mlflow_names.check_name).
Name = Annotated[
    str,
    Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$", description="A registered model's name."),
]


def _version_view(info: ModelVersionInfo) -> dict[str, Any]:
    return {
        "name": info.ref.name,
        "version": info.ref.version,
        "ref": str(info.ref),
        "aliases": info.aliases,
        "params": info.params,
        "metrics": info.metrics,
        "data_snapshot": info.data_snapshot,
        "features": info.features,
        "created_at": info.created_at,
        "run_id": info.run_id,
    }


def _model_view(store: ModelStore, name: str) -> dict[str, Any]:
    versions = store.versions(name)
    aliases = {alias: v.ref.version for v in versions for alias in v.aliases}
    return {
        "name": name,
        "aliases": dict(sorted(aliases.items())),
        "latest_version": versions[-1].ref.version if versions else None,
        "versions": [_version_view(v) for v in versions],
    }


@router.get("/models", response_model=ModelList)
def list_models(platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Every registered model with its versions and aliases."""
    store = platform.models
    return {"models": [_model_view(store, name) for name in store.models()]}


@router.get("/models/{name}", response_model=RegisteredModel)
def get_model(name: Name, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """One registered model; 404 if unknown."""
    return _model_view(platform.models, name)


@router.get("/models/{name}/versions/{version}", response_model=ModelVersion)
def get_model_version(
    name: Name, version: Annotated[str, Path(max_length=32)], platform: PlatformDep, _: Reader
) -> dict[str, Any]:
    """Metadata of one version: params, metrics, data snapshot, features, aliases."""
    return _version_view(platform.models.info(name, version=version))


# -- registry workflow: deployment, history, promote, rollback, canary ---------------


@router.get("/models/{name}/deployment", response_model=Deployment)
def get_deployment(name: Name, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Champion, challenger, canary share and start."""
    return platform.model_registry.deployment(name).to_dict()


@router.get("/models/{name}/history", response_model=PromotionHistory)
def get_history(
    name: Name,
    platform: PlatformDep,
    _: Reader,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> dict[str, Any]:
    """Append-only promotion history: who, when, why, metrics; oldest first."""
    return {
        "model": name,
        "history": [h.to_dict() for h in platform.model_registry.history(name, limit=limit)],
    }


@router.post("/models/{name}/promote", response_model=Deployment)
def promote(
    name: Name, platform: PlatformDep, principal: Admin, body: PromoteRequest = _OPTIONAL
) -> dict[str, Any]:
    """Make ``version`` (default: the challenger) the champion; effective from the
    next request in every process."""
    body = body or PromoteRequest()
    dep = platform.model_registry.promote(
        name, body.version, actor=f"key:{principal.key_id}", reason=body.reason
    )
    return dep.to_dict()


@router.post("/models/{name}/rollback", response_model=Deployment)
def rollback(
    name: Name, platform: PlatformDep, principal: Admin, body: ReasonRequest = _OPTIONAL
) -> dict[str, Any]:
    """Restore the previous champion; effective from the next request. 409 when there
    is no previous champion."""
    body = body or ReasonRequest()
    dep = platform.model_registry.rollback(
        name, actor=f"key:{principal.key_id}", reason=body.reason
    )
    return dep.to_dict()


@router.post("/models/{name}/challenger", response_model=Deployment)
def set_challenger(
    name: Name, body: ChallengerRequest, platform: PlatformDep, principal: Admin
) -> dict[str, Any]:
    """Start a canary by hand (bypasses the evaluation gate; recorded in the history)."""
    dep = platform.model_registry.challenge(
        name,
        body.version,
        actor=f"key:{principal.key_id}",
        reason=body.reason,
        canary_share=body.canary_share,
    )
    return dep.to_dict()


@router.post("/models/{name}/canary/abort", response_model=Deployment)
def abort_canary(
    name: Name, platform: PlatformDep, principal: Admin, body: ReasonRequest = _OPTIONAL
) -> dict[str, Any]:
    """Stop the canary: every user goes back to the champion."""
    body = body or ReasonRequest()
    dep = platform.model_registry.abort_canary(
        name, actor=f"key:{principal.key_id}", reason=body.reason
    )
    return dep.to_dict()


@router.get("/models/{name}/canary", response_model=CanaryVerdict)
def canary_state(name: Name, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Per-version serving figures of the running canary and what the judge would do now."""
    from agora.mlops.canary_judge import CanaryJudge

    platform.canary_monitor.flush()
    return CanaryJudge(platform.model_registry, platform.settings.mlops).judge(name).to_dict()


# -- what serves, and drift ---------------------------------------------------------


@router.get("/models/{name}/serving", response_model=ModelServing)
def serving(
    name: Name,
    platform: PlatformDep,
    _: Reader,
    user_id: Annotated[
        str | None,
        Query(
            max_length=256,
            pattern=r"^[^\x00]*$",
            description="The canary subject: a user (recommendations, ranking), an asset "
            "(tag heads) or an analysed item (moderation). Absent: an anonymous request.",
        ),
    ] = None,
) -> dict[str, Any]:
    """Which version serves ``user_id``, resolved the way the capability that loads
    the model resolves it: the champion, the challenger inside the canary share, or
    (recommendations and ranking, with no champion) the latest registered version.
    Every registered model answers (``served: false`` when nothing serves it); 404
    only for an unknown model."""
    return _serving_reports(platform).report(name, user_id).to_dict()


def _serving_reports(platform: Platform) -> ServingReports:
    from agora.mlops.serving_report import ServingReports

    return ServingReports(
        platform.models, platform.serving, ranking_scorer=platform.settings.ranking.scorer
    )


def _drift_status(platform: Platform) -> DriftStatus:
    from agora.mlops.drift_status import DriftStatus

    return DriftStatus(platform.drift_sources(), _serving_reports(platform))


@router.get("/models/{name}/drift", response_model=ModelDrift)
def drift(name: Name, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Drift of the served version, measured now: PSI and KS per input feature and on
    the score, against the training snapshot stored with the version. A model without
    a stored reference, or without recent served data, says so (``state``) and what
    would produce it (``detail``)."""
    return _drift_status(platform).of(name).to_dict()


@router.get("/models/{name}/drift/history", response_model=DriftHistory)
def drift_history(
    name: Name,
    platform: PlatformDep,
    _: Reader,
    limit: Annotated[int, Query(ge=1, le=1000, description="The latest checks to return.")] = 50,
    since: Annotated[datetime | None, Query(description="Only checks at or after it.")] = None,
) -> dict[str, Any]:
    """PSI and KS (statistic and p-value) per feature at each scheduled drift check
    (``drift_check``) of the model's champion, oldest first; 404 for an unknown model."""
    if since is not None:
        since = since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
    checks = platform.drift_history.checks(name, limit=limit, since=since)
    if not checks and name not in platform.models.models():
        raise NotFound(f"model {name!r} not found")
    return {"model": name, "checks": [c.to_dict() for c in checks]}


# The route's media type (text/html) would otherwise be given to its error answers too.
_HTML_PAGE = {
    200: {
        "content": {"text/html": {"schema": {"type": "string"}}},
        "description": "A self-contained HTML page (inline CSS and SVG, no scripts).",
    },
    **{
        status: {
            "description": response["description"],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status, response in PROBLEM_RESPONSES.items()
    },
}


@router.get("/models/{name}/drift/report", response_class=HTMLResponse, responses=_HTML_PAGE)
def drift_report(name: Name, platform: PlatformDep, _: Reader) -> HTMLResponse:
    """The drift of ``GET /models/{name}/drift`` as an HTML page: a table sorted by PSI
    and a chart of bin proportions per feature (or why nothing was measured)."""
    from agora.mlops.drift_report import render_html, render_unmeasured

    status = _drift_status(platform).of(name)
    title = f"Drift: {name}@{status.version}"
    if status.report is None:
        return HTMLResponse(render_unmeasured(title, status.state, status.detail))
    return HTMLResponse(render_html(status.report, title=title))
