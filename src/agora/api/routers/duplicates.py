"""Duplicates: the near-duplicate and re-upload check of an asset."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool

from agora.api.deps import PlatformDep, Reader
from agora.api.schemas.duplicates import Duplicates

router = APIRouter(tags=["quality"])
AssetId = Annotated[str, Path(min_length=1, max_length=128, description="The asset's id.")]
_FIELDS = ("exact", "near", "of_other_seller", "own_version_of", "held", "original", "errors")


@router.get("/assets/{asset_id}/duplicates", response_model=Duplicates)
async def asset_duplicates(asset_id: AssetId, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """What the upload pipeline's `duplicates` step found for the asset: byte-identical
    files (`exact`), pictures that are flipped, turned, cropped, recoloured or
    recompressed copies and meshes that are moved or rescaled copies (`near`), whether
    it copies another seller's active asset (then `held` for review, with the
    `original` linked) and which of the seller's own assets it re-uploads
    (`own_version_of`). `checked` is false until the step has run. 404 for an
    unknown asset.

        curl -H "Authorization: Bearer $KEY" http://localhost:8000/api/v1/assets/a1/duplicates
    """
    results = await run_in_threadpool(platform.assets.processing_results, asset_id)
    latest = next((r for r in reversed(results) if r["step"] == "duplicates"), None)
    if latest is None:
        return {"asset_id": asset_id, "checked": False}
    output = latest["output"]
    return {
        "asset_id": asset_id,
        "checked": "error" not in output,
        "model": latest["model"],
        "checked_at": latest["created_at"],
    } | {k: output[k] for k in _FIELDS if k in output}
