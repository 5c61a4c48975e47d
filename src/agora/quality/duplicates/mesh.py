"""A 3D model's fingerprint, blind to vertex order, scale and rigid motion.

Osada et al.'s D2 shape distribution ("Shape distributions", ACM TOG 2002):
the histogram of distances between random points on the surface, divided by
their mean. Points are drawn by area (so re-meshing, vertex or face order do
not matter), distances do not change under rotation, translation or mirroring,
and dividing by the mean removes scale. The principal-axis spread (PCA
eigenvalue ratios) is appended: it separates a long plank from a cube whose
D2 histograms are broad alike. Sampling is seeded: the same file always gives
the same fingerprint.

Example:
    >>> import trimesh
    >>> box = trimesh.creation.box((1, 2, 3))
    >>> moved = box.copy().apply_transform(trimesh.transformations.random_rotation_matrix())
    >>> moved.apply_scale(7.5)  # doctest: +ELLIPSIS
    <trimesh.Trimesh...>
    >>> fingerprint_distance(mesh_fingerprint(box), mesh_fingerprint(moved)) < 0.05
    True
"""

from __future__ import annotations

import io

import numpy as np
import trimesh
from scipy.spatial.distance import pdist

BINS = 32
POINTS = 1024
MAX_RATIO = 3.0  # distances beyond 3x the mean are folded into the last bin


def mesh_fingerprint(mesh: trimesh.Trimesh, *, seed: int = 0) -> np.ndarray:
    """``float32[BINS + 2]``: the D2 histogram (sums to 1) and two PCA spread ratios."""
    if mesh.area <= 0 or len(mesh.faces) == 0:
        raise ValueError("mesh has no surface")
    points, _ = trimesh.sample.sample_surface(mesh, POINTS, seed=seed)
    dist = pdist(np.asarray(points, dtype=np.float64))
    mean = float(dist.mean())
    if not np.isfinite(mean) or mean <= 0:
        raise ValueError("mesh surface is degenerate")
    hist, _ = np.histogram(np.minimum(dist / mean, MAX_RATIO), bins=BINS, range=(0, MAX_RATIO))
    centred = points - points.mean(axis=0)
    eig = np.sort(np.linalg.eigvalsh(np.cov(centred.T)))[::-1]
    ratios = np.sqrt(np.clip(eig[1:] / max(eig[0], 1e-12), 0, 1))
    return np.concatenate([hist / hist.sum(), ratios]).astype(np.float32)


def fingerprint_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Half the L1 distance of the histograms plus the largest spread difference
    (0 for the same shape; two unrelated models are usually above 0.2)."""
    hist = 0.5 * float(np.abs(a[:BINS] - b[:BINS]).sum())
    return hist + float(np.abs(a[BINS:] - b[BINS:]).max())


def load_mesh(data: bytes, file_type: str) -> trimesh.Trimesh:
    """One mesh (a scene's geometry concatenated in world coordinates) from file bytes."""
    loaded = trimesh.load_mesh(io.BytesIO(data), file_type=file_type)
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise ValueError(f"no triangle mesh in the {file_type} file")
    return loaded
