"""Mesh decimation and LOD chains, with the geometric error of every level.

Decimation is quadric edge collapse (Garland & Heckbert 1997) through
``fast-simplification`` (the Fast-Quadric-Mesh-Simplification library, the
same family as meshoptimizer's ``simplify`` behind gltfpack's LODs and
Blender's "Collapse" decimate modifier). The library moves positions only, so
per-vertex attributes are carried by replaying its collapses: every output
vertex takes the UV (and colour) of an input vertex that collapsed into it.
Normals are recomputed from the new faces; the material and its texture
references are kept as they are (the UVs still address the same texture).

The error of a level is the symmetric Hausdorff distance between the source
and the level, estimated on points sampled uniformly on both surfaces
(nearest neighbours in a k-d tree), reported absolute and relative to the
source's bounding-box diagonal. Point samples over-estimate it by about the
sample spacing: the figure is an upper bound that tightens with ``samples``.

Example:
    >>> import trimesh
    >>> sphere = trimesh.creation.icosphere(subdivisions=4)  # 5120 faces
    >>> lods = lod_chain(sphere, ratios=(1.0, 0.25))
    >>> [lod.faces for lod in lods][0], lods[1].faces < 1400
    (5120, True)
    >>> lods[1].hausdorff_rel < 0.05
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import trimesh

from agora.errors import InvalidInput

DEFAULT_LOD_RATIOS = (1.0, 0.5, 0.25, 0.1)
# Quadric simplifier aggressiveness (library default 7): lower is slower and
# more careful; 7 matches the reference implementation's recommendation.
AGGRESSIVENESS = 7


@dataclass(frozen=True)
class Lod:
    """One level of detail and its measured error against the source."""

    ratio: float  # requested fraction of the source's faces
    faces: int
    vertices: int
    hausdorff: float  # in model units
    hausdorff_rel: float  # hausdorff / source bounding-box diagonal
    kept: dict[str, bool] = field(default_factory=dict)  # uv, material, normals
    mesh: trimesh.Trimesh | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON form stored with the derived file."""
        return {
            "ratio": self.ratio,
            "faces": self.faces,
            "vertices": self.vertices,
            "hausdorff": self.hausdorff,
            "hausdorff_rel": self.hausdorff_rel,
            "kept": dict(self.kept),
        }


def _target_reduction(faces: int, ratio: float | None, face_budget: int | None) -> float:
    if (ratio is None) == (face_budget is None):
        raise InvalidInput("give exactly one of ratio or face_budget")
    if ratio is not None:
        if not 0.0 < ratio <= 1.0:
            raise InvalidInput(f"ratio must be in (0, 1], got {ratio}")
        keep = ratio
    else:
        assert face_budget is not None
        if face_budget < 4:
            raise InvalidInput(f"face_budget must be at least 4, got {face_budget}")
        keep = min(1.0, face_budget / max(1, faces))
    # Never below 4 faces: a level with no faces has no error to measure.
    return 1.0 - max(keep, min(1.0, 4 / max(1, faces)))


def _uv(mesh: trimesh.Trimesh) -> np.ndarray | None:
    uv = getattr(mesh.visual, "uv", None)
    if uv is None or len(uv) != len(mesh.vertices):
        return None
    return np.asarray(uv)


def decimate(
    mesh: trimesh.Trimesh,
    *,
    ratio: float | None = None,
    face_budget: int | None = None,
) -> trimesh.Trimesh:
    """``mesh`` reduced to ``ratio`` of its faces (or at most ``face_budget``),
    keeping UVs, vertex colours and the material where the source has them."""
    import fast_simplification

    faces_in = len(mesh.faces)
    reduction = _target_reduction(faces_in, ratio, face_budget)
    if reduction <= 0.0 or faces_in < 8:
        return mesh.copy()
    # Low-poly game meshes are often triangle soups (every face has its own
    # vertices, for flat normals and UV seams): the quadric simplifier would
    # see nothing but borders. Vertices are welded by position first; each
    # welded vertex keeps one of its UVs, so seams are approximated there.
    # (A welded closed mesh has about half as many vertices as faces: only
    # meshes with more vertices than faces pay for the weld.)
    if len(mesh.vertices) > len(mesh.faces):
        mesh = mesh.copy()
        mesh.merge_vertices(merge_tex=True, merge_norm=True)
    points = np.ascontiguousarray(mesh.vertices, dtype=np.float32)
    triangles = np.ascontiguousarray(mesh.faces, dtype=np.int64)
    uv = _uv(mesh)
    colors = _vertex_colors(mesh)
    if uv is None and colors is None:
        # Nothing to carry: the plain call, without recording collapses.
        out_points, out_faces = fast_simplification.simplify(
            points, triangles, target_reduction=reduction, agg=AGGRESSIVENESS
        )
        return trimesh.Trimesh(out_points, out_faces, process=False)
    _, _, collapses = fast_simplification.simplify(
        points, triangles, target_reduction=reduction, agg=AGGRESSIVENESS, return_collapses=True
    )
    out_points, out_faces, mapping = fast_simplification.replay_simplification(
        points, triangles, collapses
    )
    # mapping[i] is the output vertex that input vertex i became; any input
    # vertex of a group is a representative (the first one is taken).
    # Unreferenced input vertices map to -1 and are skipped.
    mapping = np.asarray(mapping, dtype=np.int64)
    representative = np.zeros(len(out_points), dtype=np.int64)
    order = np.arange(len(mapping) - 1, -1, -1)
    order = order[(mapping[order] >= 0) & (mapping[order] < len(out_points))]
    representative[mapping[order]] = order
    out = trimesh.Trimesh(out_points, out_faces, process=False)
    if uv is not None:
        material = getattr(mesh.visual, "material", None)
        out.visual = trimesh.visual.TextureVisuals(  # type: ignore[no-untyped-call]
            uv=uv[representative], material=material
        )
    elif colors is not None:
        out.visual = trimesh.visual.ColorVisuals(out, vertex_colors=colors[representative])
    return out


def _vertex_colors(mesh: trimesh.Trimesh) -> np.ndarray | None:
    visual = mesh.visual
    if getattr(visual, "kind", None) != "vertex":
        return None
    return np.asarray(visual.vertex_colors)  # type: ignore[union-attr]


def sampled_hausdorff(
    a: trimesh.Trimesh, b: trimesh.Trimesh, *, samples: int = 20_000, seed: int = 0
) -> float:
    """Symmetric Hausdorff distance between two surfaces, estimated on
    ``samples`` points drawn uniformly (area-weighted) on each."""
    from scipy.spatial import cKDTree

    if len(a.faces) == 0 or len(b.faces) == 0:
        raise InvalidInput("both meshes need faces to measure a distance")
    pa, _ = trimesh.sample.sample_surface(a, samples, seed=seed)
    pb, _ = trimesh.sample.sample_surface(b, samples, seed=seed + 1)
    # A surface's own vertices are exact points of it: include them so sharp
    # corners, where the error usually peaks, are never missed by the sampler.
    pa = np.vstack([pa, a.vertices])
    pb = np.vstack([pb, b.vertices])
    d_ab, _ = cKDTree(pb).query(pa, workers=1)
    d_ba, _ = cKDTree(pa).query(pb, workers=1)
    return float(max(d_ab.max(), d_ba.max()))


def _kept(source: trimesh.Trimesh, lod: trimesh.Trimesh) -> dict[str, bool]:
    return {
        "uv": _uv(source) is None or _uv(lod) is not None,
        "material": getattr(source.visual, "material", None) is None
        or getattr(lod.visual, "material", None) is not None,
        "normals": len(lod.vertex_normals) == len(lod.vertices),
    }


def lod_chain(
    mesh: trimesh.Trimesh,
    *,
    ratios: Sequence[float] = DEFAULT_LOD_RATIOS,
    face_budgets: Sequence[int] | None = None,
    samples: int = 20_000,
) -> list[Lod]:
    """Levels of detail for ``ratios`` (fractions of the source's faces) or
    ``face_budgets``, each with its sampled Hausdorff error. Every level is
    decimated from the source, not from the previous level, so errors do not
    compound."""
    if len(mesh.faces) == 0:
        raise InvalidInput("the mesh has no faces to decimate")
    diagonal = float(np.linalg.norm(mesh.bounds[1] - mesh.bounds[0])) or 1.0
    targets: list[tuple[float, trimesh.Trimesh]] = []
    if face_budgets is not None:
        for budget in face_budgets:
            level = decimate(mesh, face_budget=budget)
            targets.append((min(1.0, budget / len(mesh.faces)), level))
    else:
        for ratio in ratios:
            targets.append((ratio, decimate(mesh, ratio=ratio)))
    lods = []
    for ratio, level in targets:
        error = 0.0 if level.faces.shape == mesh.faces.shape and ratio >= 1.0 else None
        if error is None:
            error = sampled_hausdorff(mesh, level, samples=samples) if len(level.faces) else 0.0
        lods.append(
            Lod(
                ratio=ratio,
                faces=len(level.faces),
                vertices=len(level.vertices),
                hausdorff=error,
                hausdorff_rel=error / diagonal,
                kept=_kept(mesh, level),
                mesh=level,
            )
        )
    return lods


def load_mesh(data: bytes, file_type: str) -> trimesh.Trimesh:
    """One mesh from a model file's bytes: a scene's geometries are merged in
    world space (materials kept per geometry only when there is one)."""
    import io

    try:
        loaded = trimesh.load(io.BytesIO(data), file_type=file_type, process=False)
    except Exception as exc:  # noqa: BLE001 - trimesh raises many types on corrupt input
        raise InvalidInput(f"cannot read the {file_type} model: {exc}") from None
    if isinstance(loaded, trimesh.Scene):
        if not loaded.geometry:
            raise InvalidInput("the model has no geometry")
        dumped = loaded.to_mesh() if hasattr(loaded, "to_mesh") else loaded.dump(concatenate=True)
        if not isinstance(dumped, trimesh.Trimesh):
            raise InvalidInput("the model has no triangle mesh")
        return dumped
    if not isinstance(loaded, trimesh.Trimesh):
        raise InvalidInput("the model has no triangle mesh")
    return loaded
