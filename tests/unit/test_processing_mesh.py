"""Mesh decimation and LOD chains on the shared Kenney GLBs and generated meshes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from agora.errors import InvalidInput
from agora.processing.mesh import decimate, load_mesh, lod_chain, sampled_hausdorff


def test_decimation_reaches_the_target_and_keeps_a_sphere_watertight() -> None:
    sphere = trimesh.creation.icosphere(subdivisions=5)  # 20,480 faces
    out = decimate(sphere, ratio=0.1)
    assert 1800 <= len(out.faces) <= 2100
    assert out.is_watertight
    budget = decimate(sphere, face_budget=500)
    assert len(budget.faces) <= 520


def test_lod_errors_grow_as_faces_shrink_and_are_relative_to_the_diagonal() -> None:
    sphere = trimesh.creation.icosphere(subdivisions=5)
    lods = lod_chain(sphere, ratios=(1.0, 0.5, 0.1, 0.02), samples=5000)
    assert lods[0].hausdorff == 0.0
    errors = [lod.hausdorff_rel for lod in lods[1:]]
    assert errors == sorted(errors) and errors[-1] > errors[0]
    diagonal = float(np.linalg.norm(sphere.bounds[1] - sphere.bounds[0]))
    assert lods[2].hausdorff_rel == pytest.approx(lods[2].hausdorff / diagonal)
    assert errors[-1] < 0.1  # 2% of a sphere's faces is still a coarse sphere


def test_sampled_hausdorff_finds_a_known_offset() -> None:
    box = trimesh.creation.box(extents=(1, 1, 1))
    moved = box.copy()
    moved.apply_translation((0.25, 0, 0))
    assert sampled_hausdorff(box, moved, samples=4000) == pytest.approx(0.25, abs=0.03)


def test_uvs_and_the_material_survive_on_a_textured_glb(data_dir: Path) -> None:
    glb = data_dir / "kenney-city-builder-glb" / "models" / "building-small-a.glb"
    mesh = load_mesh(glb.read_bytes(), "glb")
    assert mesh.visual.uv is not None
    (lod,) = lod_chain(mesh, ratios=(0.5,), samples=3000)
    assert lod.kept == {"uv": True, "material": True, "normals": True}
    assert lod.mesh is not None and len(lod.mesh.visual.uv) == len(lod.mesh.vertices)
    # UVs come from the source: every carried UV is one the source had.
    source_uv = {tuple(np.round(uv, 6)) for uv in mesh.visual.uv}
    assert all(tuple(np.round(uv, 6)) in source_uv for uv in lod.mesh.visual.uv)
    reloaded = trimesh.load(
        trimesh.util.wrap_as_stream(lod.mesh.export(file_type="glb")), file_type="glb"
    )
    assert len(reloaded.geometry) >= 1


def test_bad_targets_and_empty_meshes_are_refused() -> None:
    sphere = trimesh.creation.icosphere(subdivisions=2)
    for kwargs in ({"ratio": 0.0}, {"ratio": 1.5}, {"face_budget": 2}, {}):
        with pytest.raises(InvalidInput):
            decimate(sphere, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        lod_chain(trimesh.Trimesh())
    with pytest.raises(InvalidInput):
        load_mesh(b"not a model", "glb")
