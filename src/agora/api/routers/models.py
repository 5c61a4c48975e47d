"""Model registry: models, versions and aliases; deployment (champion/challenger),
promotion history, promote, rollback, canary and drift.

Example:
    >>> client.post("/api/v1/models/ranking-pctr/rollback",
    ...             json={"reason": "CTR fell"})  # doctest: +SKIP
    <Response [200 OK]>
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from agora.api.deps import Admin, PlatformDep, Reader
from agora.api.routers.pipelines import optional_object
from agora.errors import InvalidInput, NotFound
from agora.mlops.base import ModelStore, ModelVersionInfo

router = APIRouter(tags=["models"])
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


def _check_model_name(name: str) -> str:
    if not _MODEL_NAME.match(name):
        raise InvalidInput(f"invalid model name {name!r}")
    return name


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


@router.get("/models")
def list_models(platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Every registered model with its versions and aliases."""
    store = platform.models
    return {"models": [_model_view(store, name) for name in store.models()]}


@router.get("/models/{name}")
def get_model(name: str, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """One registered model; 404 if unknown."""
    return _model_view(platform.models, name)


@router.get("/models/{name}/versions/{version}")
def get_model_version(name: str, version: str, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Metadata of one version: params, metrics, data snapshot, features, aliases."""
    return _version_view(platform.models.info(name, version=version))


# -- registry workflow: deployment, history, promote, rollback, canary, drift ---------


def _reason(body: dict[str, Any]) -> str:
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > 2000:
        raise InvalidInput("reason must be a string of at most 2000 characters")
    return reason


def _version_arg(body: dict[str, Any], required: bool) -> str | None:
    version = body.get("version")
    if version is None and not required:
        return None
    if isinstance(version, bool) or not isinstance(version, str | int):
        raise InvalidInput("version must be a string (or integer) version number")
    return str(version)


@router.get("/models/{name}/deployment")
def get_deployment(name: str, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Champion, challenger, canary share and start."""
    return platform.model_registry.deployment(name).to_dict()


@router.get("/models/{name}/history")
def get_history(
    name: str, platform: PlatformDep, _: Reader, limit: Annotated[int, Query(ge=1, le=10000)] = 1000
) -> dict[str, Any]:
    """Append-only promotion history: who, when, why, metrics; oldest first."""
    return {
        "model": name,
        "history": [h.to_dict() for h in platform.model_registry.history(name, limit=limit)],
    }


@router.post("/models/{name}/promote")
async def promote(
    name: str, request: Request, platform: PlatformDep, principal: Admin
) -> dict[str, Any]:
    """Make ``version`` (default: the challenger) the champion. Body: ``{"version"?, "reason"}``."""
    body = await optional_object(request)
    dep = platform.model_registry.promote(
        name, _version_arg(body, False), actor=f"key:{principal.key_id}", reason=_reason(body)
    )
    return dep.to_dict()


@router.post("/models/{name}/rollback")
async def rollback(
    name: str, request: Request, platform: PlatformDep, principal: Admin
) -> dict[str, Any]:
    """Restore the previous champion; effective from the next request. Body: ``{"reason"}``."""
    body = await optional_object(request)
    dep = platform.model_registry.rollback(
        name, actor=f"key:{principal.key_id}", reason=_reason(body)
    )
    return dep.to_dict()


@router.post("/models/{name}/challenger")
async def set_challenger(
    name: str, request: Request, platform: PlatformDep, principal: Admin
) -> dict[str, Any]:
    """Start a canary by hand (bypasses the evaluation gate; recorded in the history).

    Body: ``{"version", "reason", "canary_share"?}``.
    """
    body = await optional_object(request)
    share = body.get("canary_share")
    if share is not None and (isinstance(share, bool) or not isinstance(share, int | float)):
        raise InvalidInput("canary_share must be a number between 0 and 1")
    dep = platform.model_registry.challenge(
        name,
        str(_version_arg(body, True)),
        actor=f"key:{principal.key_id}",
        reason=_reason(body),
        canary_share=None if share is None else float(share),
    )
    return dep.to_dict()


@router.post("/models/{name}/canary/abort")
async def abort_canary(
    name: str, request: Request, platform: PlatformDep, principal: Admin
) -> dict[str, Any]:
    """Stop the canary: every user goes back to the champion."""
    body = await optional_object(request)
    dep = platform.model_registry.abort_canary(
        name, actor=f"key:{principal.key_id}", reason=_reason(body)
    )
    return dep.to_dict()


@router.get("/models/{name}/canary")
def canary_state(name: str, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Per-version serving figures of the running canary and what the judge would do now."""
    from agora.mlops.canary_judge import CanaryJudge

    platform.canary_monitor.flush()
    return CanaryJudge(platform.model_registry, platform.settings.mlops).judge(name).to_dict()


@router.get("/models/{name}/serving")
def serving(
    name: str, platform: PlatformDep, _: Reader, user_id: str | None = None
) -> dict[str, Any]:
    """Which version serves ``user_id`` (champion, or challenger inside the canary share)."""
    if user_id is not None and (len(user_id) > 256 or "\x00" in user_id):
        raise InvalidInput("user_id must be at most 256 characters")
    return platform.serving.serving_version(name, user_id).to_dict()


@router.get("/models/{name}/drift", response_class=HTMLResponse)
def drift_report(name: str, platform: PlatformDep, _: Reader) -> HTMLResponse:
    """The latest HTML drift report of ``name`` (written by the drift check)."""
    from agora.mlops.checks import drift_report_path

    _check_model_name(name)
    path = drift_report_path(platform, name)
    if not path.is_file():
        raise NotFound(f"no drift report for {name!r} yet (the drift_check task writes it)")
    return HTMLResponse(path.read_text())
