"""Broken 3D files with the defects they must be reported for.

Each case starts from a closed, consistently wound mesh (so any defect found
was put there) and breaks it one way: holes, flipped faces, every face
inverted, degenerate triangles, duplicate faces, a non-manifold fin, NaN
vertices, a truncated file, a missing glTF buffer, a missing texture, an
empty model, a polycount over budget. ``expected`` lists groups of defect
codes; the validator must report at least one code of each group (a
truncated text file may fail to parse or parse to nothing: both are right;
a hole is ``holes`` when the rest is closed, else ``not_watertight``, since
an open surface may be the design).

Example:
    >>> cases = broken_meshes()
    >>> sorted({c.breakage for c in cases})[:3]
    ['degenerate', 'duplicate', 'empty']
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# What an upload refuses outright counts as detected: the file never goes live.
REJECTED = "rejected_at_upload"
_UNREADABLE = frozenset({"load_failed", "empty", "face_index_out_of_range", REJECTED})


@dataclass(frozen=True)
class BrokenMesh:
    """One generated case: its files (the model first), the expected defect
    groups, and the polycount budget to validate it against."""

    name: str
    breakage: str
    files: dict[str, bytes]
    expected: tuple[frozenset[str], ...]
    budget: int | None = None
    base: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _bases() -> dict[str, Any]:
    import trimesh

    return {
        "icosphere": trimesh.creation.icosphere(subdivisions=2),
        "box": trimesh.creation.box(extents=(1.0, 2.0, 0.5)),
        "cylinder": trimesh.creation.cylinder(radius=0.5, height=1.0, sections=24),
    }


def _mesh(vertices: np.ndarray, faces: np.ndarray) -> Any:
    import trimesh

    return trimesh.Trimesh(vertices=vertices, faces=faces, process=False, validate=False)


def _export(mesh: Any, fmt: str) -> bytes:
    if fmt == "off":
        return _off(mesh.vertices, mesh.faces)
    data = mesh.export(file_type=fmt)
    return data.encode() if isinstance(data, str) else bytes(data)


def _off(vertices: np.ndarray, faces: np.ndarray) -> bytes:
    lines = ["OFF", f"{len(vertices)} {len(faces)} 0"]
    lines += [" ".join(repr(float(x)) for x in v) for v in vertices]
    lines += ["3 " + " ".join(str(int(i)) for i in f) for f in faces]
    return ("\n".join(lines) + "\n").encode()


def _obj(vertices: np.ndarray, faces: np.ndarray) -> bytes:
    lines = [f"v {' '.join(repr(float(x)) for x in v)}" for v in vertices]
    lines += [f"f {' '.join(str(int(i) + 1) for i in f)}" for f in faces]
    return ("\n".join(lines) + "\n").encode()


def _holes(v: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return v, np.delete(f, [0, len(f) // 2], axis=0)


def _flipped(v: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = f.copy()
    f[::7] = f[::7, ::-1]
    return v, f


def _inverted(v: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return v, f[:, ::-1].copy()


def _degenerate(v: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    collapsed = np.array([[f[0, 0], f[0, 0], f[0, 1]], [f[1, 1], f[1, 2], f[1, 2]]])
    return v, np.vstack([f, collapsed])


def _duplicate(v: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return v, np.vstack([f, f[:3]])


def _fin(v: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # A third face on an existing edge: the edge now joins three faces.
    a, b = f[0, 0], f[0, 1]
    tip = v[a] + (v[b] - v[a]) * 0.5 + np.array([0.0, 0.0, 3.0])
    return np.vstack([v, tip]), np.vstack([f, [[a, b, len(v)]]])


def _nan(v: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = v.copy()
    v[[1, 5]] = np.nan
    return v, f


# breakage -> (change, expected defect groups, formats it is written in)
_GEOMETRIC: dict[str, tuple[Callable[..., Any], tuple[frozenset[str], ...], tuple[str, ...]]] = {
    "holes": (
        _holes,
        (frozenset({"holes", "not_watertight"}),),
        ("glb", "obj", "ply", "stl", "off"),
    ),
    "flipped": (_flipped, (frozenset({"inconsistent_winding"}),), ("glb", "obj", "ply", "off")),
    "inverted": (_inverted, (frozenset({"inverted"}),), ("glb", "obj", "ply", "stl", "off")),
    "degenerate": (_degenerate, (frozenset({"degenerate_faces"}),), ("glb", "obj", "ply", "off")),
    "duplicate": (_duplicate, (frozenset({"duplicate_faces"}),), ("glb", "obj", "ply", "off")),
    "non_manifold": (_fin, (frozenset({"non_manifold"}),), ("glb", "obj", "ply", "off")),
    "nan": (_nan, (frozenset({"non_finite_vertices"}),), ("obj", "ply", "stl", "off")),
}


def _write(mesh: Any, v: np.ndarray, f: np.ndarray, fmt: str) -> bytes:
    # Text formats are written by hand so NaN and degenerate faces survive
    # exactly; binary ones through trimesh's exporters (process=False keeps them).
    if fmt == "obj":
        return _obj(v, f)
    if fmt == "off":
        return _off(v, f)
    return _export(_mesh(v, f), fmt)


def _truncated(bases: dict[str, Any]) -> list[BrokenMesh]:
    cases = []
    for base, mesh in bases.items():
        for fmt in ("glb", "ply", "stl", "obj", "off"):
            data = _write(mesh, mesh.vertices, mesh.faces, fmt)
            cut = data[: int(len(data) * 0.6)]
            # A text file cut between two faces still parses: what is left of a
            # closed mesh is open. Either way the defect is reported.
            group = _UNREADABLE | ({"not_watertight"} if fmt in ("obj", "off") else set())
            name = f"{base}-truncated.{fmt}"
            cases.append(BrokenMesh(name, "truncated", {name: cut}, (group,), base=base))
    return cases


def _gltf_files(mesh: Any) -> dict[str, bytes]:
    """A .gltf whose geometry is in an external .bin (trimesh's export)."""
    files = mesh.export(file_type="gltf")
    return {name: bytes(data) for name, data in files.items()}


def _empty_cases() -> list[BrokenMesh]:
    empty_ply = (
        b"ply\nformat ascii 1.0\nelement vertex 0\nproperty float x\nproperty float y\n"
        b"property float z\nelement face 0\nproperty list uchar int vertex_indices\nend_header\n"
    )
    empty_gltf = {"asset": {"version": "2.0"}, "scenes": [{"nodes": []}], "scene": 0}
    gltf = json.dumps(empty_gltf).encode()
    pad = (4 - len(gltf) % 4) % 4
    gltf += b" " * pad
    glb = (
        struct.pack("<4sII", b"glTF", 2, 12 + 8 + len(gltf))
        + struct.pack("<I4s", len(gltf), b"JSON")
        + gltf
    )
    group = (frozenset({"empty", REJECTED, "load_failed"}),)
    return [
        BrokenMesh("empty.obj", "empty", {"empty.obj": b"# exported\no Empty\ng default\n"}, group),
        BrokenMesh("empty.ply", "empty", {"empty.ply": empty_ply}, group),
        BrokenMesh("empty.stl", "empty", {"empty.stl": b"solid empty\nendsolid empty\n"}, group),
        BrokenMesh("empty.glb", "empty", {"empty.glb": glb}, group),
        BrokenMesh("empty.off", "empty", {"empty.off": b"OFF\n0 0 0\n"}, group),
    ]


def _missing_cases(bases: dict[str, Any]) -> list[BrokenMesh]:
    cases = []
    for base, mesh in bases.items():
        files = _gltf_files(mesh)
        model = next(n for n in files if n.endswith(".gltf"))
        cases.append(
            BrokenMesh(
                f"{base}-no-buffer.gltf",
                "missing_buffer",
                {model: files[model]},
                (frozenset({"missing_buffer"}),),
                base=base,
            )
        )
        obj = b"mtllib missing.mtl\nusemtl skin\n" + _obj(mesh.vertices, mesh.faces)
        cases.append(
            BrokenMesh(
                f"{base}-no-mtl.obj",
                "missing_material",
                {f"{base}.obj": obj},
                (frozenset({"missing_material"}),),
                base=base,
            )
        )
    return cases


def _over_budget() -> BrokenMesh:
    import trimesh

    dense = trimesh.creation.icosphere(subdivisions=5)  # 20,480 triangles
    return BrokenMesh(
        "dense.glb",
        "over_budget",
        {"dense.glb": _export(dense, "glb")},
        (frozenset({"over_budget"}),),
        budget=10_000,
        base="icosphere",
    )


def broken_meshes() -> list[BrokenMesh]:
    """Every generated case, deterministic."""
    bases = _bases()
    cases: list[BrokenMesh] = []
    for base, mesh in bases.items():
        v, f = np.asarray(mesh.vertices), np.asarray(mesh.faces)
        for breakage, (change, expected, formats) in _GEOMETRIC.items():
            bv, bf = change(v, f)
            for fmt in formats:
                name = f"{base}-{breakage}.{fmt}"
                cases.append(
                    BrokenMesh(
                        name, breakage, {name: _write(mesh, bv, bf, fmt)}, expected, base=base
                    )
                )
    return [*cases, *_truncated(bases), *_empty_cases(), *_missing_cases(bases), _over_budget()]


def clean_mesh_files(fmt: str = "glb") -> dict[str, bytes]:
    """A closed, consistent icosphere in ``fmt`` (``gltf``: with its .bin)."""
    mesh = _bases()["icosphere"]
    if fmt == "gltf":
        return _gltf_files(mesh)
    return {f"icosphere.{fmt}": _write(mesh, mesh.vertices, mesh.faces, fmt)}


__all__ = ["REJECTED", "BrokenMesh", "broken_meshes", "clean_mesh_files"]
