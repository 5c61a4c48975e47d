"""JSON views of catalog rows, shared by the API, the worker and the CLI."""

from __future__ import annotations

from typing import Any

from agora.storage.tables import AssetRow, SellerRow, UserRow


def asset_view(row: AssetRow) -> dict[str, Any]:
    """API representation of an asset."""
    return {
        "id": row.id,
        "seller_id": row.seller_id,
        "title": row.title,
        "description": row.description,
        "tags": list(row.creator_tags or []),
        "category": row.category,
        "price": float(row.price) if row.price is not None else None,
        "currency": row.currency,
        "files": list(row.files or []),
        "images": list(row.images or []),
        "format": row.format,
        "status": row.status,
        "stock": row.stock,
        "geo": {"lat": row.geo_lat, "lon": row.geo_lon} if row.geo_lat is not None else None,
        "attributes": dict(row.attributes or {}),
        "revision": row.revision,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "processed_at": row.processed_at.isoformat() if row.processed_at else None,
    }


def seller_view(row: SellerRow) -> dict[str, Any]:
    """API representation of a seller."""
    return {
        "id": row.id,
        "name": row.name,
        "trust_score": row.trust_score,
        "verified": row.verified,
        "banned": row.banned,
        "attributes": dict(row.attributes or {}),
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


def user_view(row: UserRow) -> dict[str, Any]:
    """API representation of a user."""
    return {
        "id": row.id,
        "region": row.region,
        "lat": row.lat,
        "lon": row.lon,
        "attributes": dict(row.attributes or {}),
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }
