"""Stage 2, hard rules: the eligibility rules (``agora.eligibility.rules``), then distance.

Vectorised over catalog rows: the snapshot's ``listed`` column holds the
catalog and stock rules, :meth:`Bans.mask` the admin overrides in force.
Distance is the haversine great-circle distance between the user's and the
asset's coordinates; the rule is skipped for an asset (or the whole request)
whose coordinates are unknown.

Example:
    >>> round(float(haversine_km(52.52, 13.40, np.array([48.86]), np.array([2.35]))[0]))
    877
"""

from __future__ import annotations

import numpy as np

from agora.eligibility.rules import Bans
from agora.features.base import ActiveOverrides
from agora.ranking.catalog import CatalogSnapshot

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Distance in km from one point to many (NaN where a coordinate is unknown)."""
    p1, p2 = np.radians(lat), np.radians(lats)
    dphi = p2 - p1
    dlmb = np.radians(lons - lon)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


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
    ok = known & snap.listed[safe]
    # NaN distance (unknown geo) compares False, so the rule is skipped there.
    ok &= ~(distance_km > max_distance_km)
    return np.asarray(ok & ~banned_mask(snap, safe, overrides))


def banned_mask(
    snap: CatalogSnapshot, rows: np.ndarray, overrides: ActiveOverrides | None
) -> np.ndarray:
    """True where an admin override bans the row's asset, seller or category."""
    bans = Bans.of(overrides)
    if not bans:
        return np.zeros(len(rows), dtype=bool)
    return banned_mask_of(snap, rows, bans)


def removals(
    snap: CatalogSnapshot,
    ids: list[str],
    rows: np.ndarray,
    *,
    distance_km: np.ndarray,
    max_distance_km: float,
    overrides: ActiveOverrides | None = None,
) -> dict[str, list[str]]:
    """Why ``eligible_mask`` drops each candidate it drops: filter -> asset ids,
    in candidate order, each id under the first filter that removes it.

    Filters: ``unknown`` (not in the catalog snapshot), the catalog rules
    (``status``, ``seller`` banned, ``stock``), admin ``asset_ban`` /
    ``seller_ban`` / ``category_ban`` overrides, ``distance``. Only an
    inspector asks (a Python pass over the candidates), never a served feed."""
    known = rows >= 0
    safe = np.where(known, rows, 0)
    bans = Bans.of(overrides)
    parts = {
        "asset_ban": Bans(assets=bans.assets),
        "seller_ban": Bans(sellers=bans.sellers),
        "category_ban": Bans(categories=bans.categories),
    }
    banned = {name: banned_mask_of(snap, safe, part) for name, part in parts.items() if part}
    far = distance_km > max_distance_km
    out: dict[str, list[str]] = {}
    for i, asset_id in enumerate(ids):
        if not known[i]:
            reason: str | None = "unknown"
        elif not snap.listed[safe[i]]:
            reason = snap.unlisted.get(int(safe[i]), "status")
        else:
            reason = next((n for n, m in banned.items() if m[i]), None)
            if reason is None and far[i]:
                reason = "distance"
        if reason is not None:
            out.setdefault(reason, []).append(asset_id)
    return out


def banned_mask_of(snap: CatalogSnapshot, rows: np.ndarray, bans: Bans) -> np.ndarray:
    """``banned_mask`` for a given set of bans."""
    ids = np.array(snap.ids, dtype=object)[rows] if bans.assets else np.empty(0, dtype=object)
    return bans.mask(ids, snap.seller_ids[rows], snap.categories[rows])
