"""Measure a loaded scene: counts, finiteness, topology, bounding box, UVs.

Topology is judged on vertices merged by position only. Exporters split a
vertex wherever its normal or UV changes (every hard edge, every UV seam),
and a mesh judged on those split vertices looks full of holes: the watertight
false negatives users report against trimesh (trimesh#2435). Merging by
position first measures the surface as an engine renders it.

Example:
    >>> import trimesh
    >>> facts = measure([trimesh.creation.box()])
    >>> (facts.faces, facts.watertight, facts.winding_consistent)
    (12, True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# Positions closer than this (relative to the model's size) are one vertex.
_MERGE_RELATIVE = 1e-6
# Boundary edges up to this share of all edges make a closed mesh with holes.
_HOLE_SHARE = 0.02
# A face whose area is below this share of the bounding box diagonal squared has no area.
_AREA_RELATIVE = 1e-12


@dataclass
class Facts:
    """What ``measure`` found over every mesh of the scene."""

    vertices: int = 0
    faces: int = 0
    path_entities: int = 0
    non_finite: int = 0
    bad_indices: int = 0
    degenerate: int = 0
    duplicate: int = 0
    boundary_edges: int = 0
    hole_edges: int = 0
    non_manifold_edges: int = 0
    inconsistent_edges: int = 0
    inverted: bool = False
    watertight: bool | None = None
    manifold: bool | None = None
    winding_consistent: bool | None = None
    uvs: bool = False
    bbox: list[list[float]] | None = None


def _edge_keys(edges: np.ndarray, count: int) -> np.ndarray:
    return edges[:, 0].astype(np.int64) * np.int64(count) + edges[:, 1].astype(np.int64)


def _topology(vertices: np.ndarray, faces: np.ndarray, facts: Facts) -> None:
    """Merge by position, then count degenerate, duplicate, boundary,
    non-manifold and inconsistently wound edges of one mesh."""
    scale = float(np.ptp(vertices, axis=0).max()) if len(vertices) else 0.0
    tolerance = max(scale, 1e-12) * _MERGE_RELATIVE
    grid = np.clip(np.round(vertices / tolerance), -(2.0**62), 2.0**62).astype(np.int64)
    _, first, inverse = np.unique(grid, axis=0, return_index=True, return_inverse=True)
    merged = inverse.reshape(-1)[faces]
    points = vertices[first]
    # Degenerate: a repeated vertex after merging, or no area.
    repeated = (
        (merged[:, 0] == merged[:, 1])
        | (merged[:, 1] == merged[:, 2])
        | (merged[:, 0] == merged[:, 2])
    )
    tri = points[merged]
    areas = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1) / 2
    flat = areas <= _AREA_RELATIVE * max(scale, 1e-12) ** 2
    degenerate = repeated | flat
    facts.degenerate += int(degenerate.sum())
    good = merged[~degenerate]
    # Duplicate: the same three vertices, in any order or winding.
    _, unique_index = np.unique(np.sort(good, axis=1), axis=0, return_index=True)
    facts.duplicate += len(good) - len(unique_index)
    good = good[np.sort(unique_index)]
    if not len(good):
        return
    directed = good[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    n = len(points)
    undirected = _edge_keys(np.sort(directed, axis=1), n)
    _, edge_of, edge_counts = np.unique(undirected, return_inverse=True, return_counts=True)
    boundary = int((edge_counts == 1).sum())
    non_manifold = int((edge_counts > 2).sum())
    # Two faces sharing an edge agree on winding when they walk it in
    # opposite directions; the same directed edge twice means one is flipped.
    shared = edge_counts[edge_of.reshape(-1)] == 2
    _, directed_counts = np.unique(_edge_keys(directed[shared], n), return_counts=True)
    inconsistent = int((directed_counts > 1).sum())
    facts.boundary_edges += boundary
    if 0 < boundary <= _HOLE_SHARE * len(edge_counts):
        # A few boundary edges in an otherwise closed surface: holes, not an
        # open design (a plane or a card is mostly boundary).
        facts.hole_edges += boundary
    facts.non_manifold_edges += non_manifold
    facts.inconsistent_edges += inconsistent
    closed = boundary == 0 and non_manifold == 0
    if closed and inconsistent == 0:
        # Signed volume (divergence theorem): negative when every face points in.
        a, b, c = (points[good[:, i]] for i in range(3))
        volume = float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum()) / 6.0
        facts.inverted = facts.inverted or volume < 0
    facts.watertight = closed and facts.watertight is not False
    facts.manifold = non_manifold == 0 and facts.manifold is not False
    facts.winding_consistent = inconsistent == 0 and facts.winding_consistent is not False


def _has_uvs(geometry: Any) -> bool:
    uv = getattr(getattr(geometry, "visual", None), "uv", None)
    return uv is not None and len(uv) > 0


def measure(geometries: list[Any]) -> Facts:
    """Facts over ``geometries`` (trimesh meshes, paths or point clouds, as
    placed in the scene)."""
    facts = Facts()
    lows: list[np.ndarray] = []
    highs: list[np.ndarray] = []
    for geometry in geometries:
        vertices = np.asarray(getattr(geometry, "vertices", np.empty((0, 3))), dtype=np.float64)
        if vertices.ndim != 2 or not len(vertices):
            continue
        facts.vertices += len(vertices)
        finite = np.isfinite(vertices).all(axis=1)
        facts.non_finite += int((~finite).sum())
        if finite.any():
            lows.append(vertices[finite].min(axis=0))
            highs.append(vertices[finite].max(axis=0))
        entities = getattr(geometry, "entities", None)
        if entities is not None:
            facts.path_entities += len(entities)
            continue
        faces = np.asarray(getattr(geometry, "faces", np.empty((0, 3))), dtype=np.int64)
        if faces.ndim != 2 or faces.shape[1] != 3 or not len(faces):
            continue
        facts.faces += len(faces)
        facts.uvs = facts.uvs or _has_uvs(geometry)
        out_of_range = (faces < 0) | (faces >= len(vertices))
        facts.bad_indices += int(out_of_range.any(axis=1).sum())
        # Topology needs every face's corners to exist and be finite.
        if facts.bad_indices == 0 and finite.all():
            _topology(vertices, faces, facts)
    if lows:
        low, high = np.min(lows, axis=0), np.max(highs, axis=0)
        facts.bbox = [[round(float(x), 6) for x in low], [round(float(x), 6) for x in high]]
    return facts
