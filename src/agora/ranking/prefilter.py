"""Stage 2, hard rules: out of stock, inactive, banned sellers, override bans, distance.

Vectorised over catalog rows. Distance is the haversine great-circle distance
between the user's and the asset's coordinates; the rule is skipped for an
asset (or the whole request) whose coordinates are unknown.

Example:
    >>> round(float(haversine_km(52.52, 13.40, np.array([48.86]), np.array([2.35]))[0]))
    877
"""

from __future__ import annotations

import numpy as np

from agora.features.base import ActiveOverrides
from agora.ranking.catalog import CatalogSnapshot

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Distance in km from one point to many (NaN where a coordinate is unknown)."""
    p1, p2 = np.radians(lat), np.radians(lats)
    dphi = p2 - p1
    dlmb = np.radians(lons - lon)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def distances(
    snap: CatalogSnapshot, rows: np.ndarray, lat: float | None, lon: float | None
) -> np.ndarray:
    """Km from the user to each row; all NaN when the user's geo is unknown."""
    if lat is None or lon is None:
        return np.full(len(rows), np.nan)
    return haversine_km(lat, lon, snap.lat[rows], snap.lon[rows])


def eligible_mask(
    snap: CatalogSnapshot,
    rows: np.ndarray,
    *,
    distance_km: np.ndarray,
    max_distance_km: float,
    overrides: ActiveOverrides | None = None,
) -> np.ndarray:
    """True where a row may be shown (``rows`` of -1 are unknown ids: never)."""
    known = rows >= 0
    safe = np.where(known, rows, 0)
    ok = known & snap.active[safe] & snap.in_stock[safe] & ~snap.seller_banned[safe]
    # NaN distance (unknown geo) compares False, so the rule is skipped there.
    ok &= ~(distance_km > max_distance_km)
    if overrides is not None and overrides.banned:
        banned = overrides.banned
        if banned.get("category"):
            ok &= ~np.isin(snap.categories[safe], list(banned["category"]))
        if banned.get("seller"):
            ok &= ~np.isin(snap.seller_ids[safe], list(banned["seller"]))
        if banned.get("asset"):
            ids = np.array(snap.ids, dtype=object)[safe]
            ok &= ~np.isin(ids, list(banned["asset"]))
    return ok
