"""Catalog: browse and filter assets; one asset's page with images, 3D preview,
files, every pipeline step's result, tags, moderation, similar assets and its
audit trail. Images and files are served to the signed-in key from here (the
API's routes take a bearer key, which the browser does not hold)."""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from agora.catalog.listing import AssetFilter
from agora.console.auth import Reader
from agora.console.render import page
from agora.domain import AssetStatus
from agora.errors import AgoraError, NotFound
from agora.runtime import Platform

router = APIRouter()
log = logging.getLogger(__name__)
PAGE_SIZE = 24
AssetId = Annotated[str, Path(min_length=1, max_length=64)]
# Raster images only inline: an SVG can carry script.
RASTER = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
INLINE = RASTER | {"model/gltf-binary", "model/gltf+json"}
STATUSES = [s.value for s in AssetStatus]


def _price(value: str | None) -> Decimal | None:
    try:
        return Decimal(value) if value else None
    except InvalidOperation:
        return None


@router.get("/catalog", response_class=HTMLResponse)
def catalog(
    request: Request,
    op: Reader,
    status: Annotated[str | None, Query(max_length=32)] = None,
    seller_id: Annotated[str | None, Query(max_length=128)] = None,
    category: Annotated[str | None, Query(max_length=128)] = None,
    min_price: Annotated[str | None, Query(max_length=32)] = None,
    max_price: Annotated[str | None, Query(max_length=32)] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> HTMLResponse:
    """Assets newest first, filtered, cursor-paginated."""
    flt = AssetFilter(
        status=status if status in STATUSES else None,
        seller_id=seller_id or None,
        category=category or None,
        min_price=_price(min_price),
        max_price=_price(max_price),
        limit=PAGE_SIZE,
        cursor=cursor or None,
    )
    error = None
    try:
        items, next_cursor = op.platform.assets.list(flt)
    except AgoraError as exc:  # a tampered cursor: show the first page and say why
        items, next_cursor, error = [], None, str(exc)
    return page(
        request,
        "catalog.html",
        op,
        "catalog",
        title="Catalog",
        items=items,
        next_cursor=next_cursor,
        statuses=STATUSES,
        flash=error,
        flash_kind="error",
        f={"status": status or "", "seller_id": seller_id or "", "category": category or ""}
        | {"min_price": min_price or "", "max_price": max_price or ""},
    )


def _similar(platform: Platform, asset_id: str) -> dict[str, Any]:
    """Visual/text neighbours and behavioural neighbours (each may be unavailable)."""
    out: dict[str, Any] = {"content": None, "behaviour": None, "errors": []}
    try:
        out["content"] = platform.search.similar(asset_id, limit=6)
    except Exception as exc:  # a page section, not the page, fails
        log.warning("similar assets unavailable for %s", asset_id, exc_info=True)
        out["errors"].append(f"similar by content: {exc}")
    try:
        out["behaviour"] = platform.recommendations.similar_by_behaviour(asset_id, 6).to_dict()
    except Exception as exc:  # a page section, not the page, fails
        log.warning("behavioural neighbours unavailable for %s", asset_id, exc_info=True)
        out["errors"].append(f"similar by behaviour: {exc}")
    return out


def _model_file(asset: dict[str, Any]) -> dict[str, Any] | None:
    return next(
        (f for f in asset.get("files") or [] if f.get("media_type") == "model/gltf-binary"), None
    )


@router.get("/assets/{asset_id}", response_class=HTMLResponse)
def asset_page(request: Request, asset_id: AssetId, op: Reader) -> HTMLResponse:
    """Everything the platform knows about one asset."""
    platform = op.platform
    asset = platform.assets.get(asset_id)
    results = platform.assets.processing_results(asset_id)
    moderation = next((r for r in reversed(results) if r["step"] == "moderation"), None)
    tags = platform.tagging.results_of([asset_id]).get(asset_id, [])
    audit = platform.audit.query(subject_type="asset", subject_id=asset_id, limit=20)
    return page(
        request,
        "asset.html",
        op,
        "catalog",
        title=asset["title"],
        asset=asset,
        raster=[
            i for i, img in enumerate(asset.get("images") or []) if img["media_type"] in RASTER
        ],
        model_file=_model_file(asset),
        results=results,
        moderation=moderation,
        tags=sorted(tags, key=lambda t: (t["category"], -t["confidence"])),
        similar=_similar(platform, asset_id),
        audit=audit.entries,
    )


def _bytes(platform: Platform, ref: dict[str, Any], inline: bool) -> Response:
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'",
        "Cache-Control": "private, max-age=3600",
    }
    if not inline:
        headers["Content-Disposition"] = f'attachment; filename="{ref.get("name") or "file"}"'
    return Response(
        platform.blobs.get(ref["sha256"]), media_type=ref["media_type"], headers=headers
    )


@router.get("/assets/{asset_id}/images/{index}")
def asset_image(
    asset_id: AssetId, index: Annotated[int, Path(ge=0, le=1000)], op: Reader
) -> Response:
    """One of the asset's raster images."""
    images = op.platform.assets.get(asset_id).get("images") or []
    if index >= len(images) or images[index]["media_type"] not in RASTER:
        raise NotFound(f"asset {asset_id!r} has no image {index}")
    return _bytes(op.platform, images[index], inline=True)


@router.get("/assets/{asset_id}/files/{name:path}")
def asset_file(asset_id: AssetId, name: str, op: Reader) -> Response:
    """One of the asset's files by name. A glTF's textures are fetched relative to
    it (``Textures/colormap.png``), so only the last path segment is matched."""
    wanted = PurePosixPath(name).name
    files = op.platform.assets.get(asset_id).get("files") or []
    ref = next((f for f in files if f.get("name") == wanted), None)
    if ref is None:
        raise NotFound(f"asset {asset_id!r} has no file {wanted!r}")
    return _bytes(op.platform, ref, inline=ref["media_type"] in INLINE)
