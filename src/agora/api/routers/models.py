"""Model registry, read-only: registered models, their versions and aliases."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from agora.api.deps import PlatformDep, Reader
from agora.mlops.base import ModelStore, ModelVersionInfo

router = APIRouter(tags=["models"])


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
