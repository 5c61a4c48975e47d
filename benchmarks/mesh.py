"""Mesh decimation and LOD figures (issue 25), ``agora.processing.mesh``.

- ``decimate_1m_to_10pct.wall_s``: a generated 1,000,000-face mesh (a bumpy
  torus, closed) decimated to 10% by ``decimate``, median of ``--runs`` calls
  after one warm-up call (goal < 2 s); ``.cold_wall_s``: that first call in
  this fresh process (the library import included); ``.per_100k_faces_s``.
- ``lod.hausdorff_rel.p95``: the 95th percentile, over every LOD below 100% of
  every shared GLB (``../shared/data/kenney-city-builder-glb``) and of the
  generated mesh, of the sampled symmetric Hausdorff distance to the source
  divided by the source's bounding-box diagonal. Per model: faces per LOD,
  error per LOD, and whether UVs, the material and normals survived.

The Kenney models are small (hundreds of faces): their 10% levels keep a few
dozen faces, so their errors are large and say more about the budget than
the simplifier.

Run: ``python benchmarks/mesh.py [--quick] [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import trimesh

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from agora.processing.mesh import decimate, load_mesh, lod_chain  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "mesh.json"
GLB_DIR = ROOT.parent / "shared" / "data" / "kenney-city-builder-glb" / "models"
RATIOS = (1.0, 0.5, 0.25, 0.1)


def bumpy_torus(faces: int) -> trimesh.Trimesh:
    """A closed torus with a sine relief, ``faces`` triangles (rounded to a grid)."""
    m = round((faces / 4) ** 0.5)  # minor segments; the major ring gets 2m
    n = 2 * m
    u = np.linspace(0, 2 * np.pi, n, endpoint=False)[:, None]
    v = np.linspace(0, 2 * np.pi, m, endpoint=False)[None, :]
    r = 0.3 + 0.02 * np.sin(7 * u) * np.cos(5 * v)
    x = (1 + r * np.cos(v)) * np.cos(u)
    y = (1 + r * np.cos(v)) * np.sin(u)
    z = r * np.sin(v)
    vertices = np.stack([x, y, z], axis=-1).reshape(-1, 3)
    i, j = np.meshgrid(np.arange(n), np.arange(m), indexing="ij")
    a = i * m + j
    b = ((i + 1) % n) * m + j
    c = ((i + 1) % n) * m + (j + 1) % m
    d = i * m + (j + 1) % m
    tris = np.concatenate([np.stack([a, b, c], -1), np.stack([a, c, d], -1)]).reshape(-1, 3)
    return trimesh.Trimesh(vertices, tris, process=False)


def timed_decimation(mesh: trimesh.Trimesh, runs: int) -> dict[str, float]:
    t0 = time.perf_counter()
    first = decimate(mesh, ratio=0.1)
    cold = time.perf_counter() - t0
    walls = []
    for _ in range(runs):
        t0 = time.perf_counter()
        decimate(mesh, ratio=0.1)
        walls.append(time.perf_counter() - t0)
    wall = statistics.median(walls)
    return {
        "faces_in": len(mesh.faces),
        "faces_out": len(first.faces),
        "watertight_out": bool(first.is_watertight),
        "cold_wall_s": round(cold, 4),
        "wall_s": round(wall, 4),
        "per_100k_faces_s": round(wall / (len(mesh.faces) / 100_000), 4),
    }


def glb_lods(samples: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in sorted(GLB_DIR.glob("*.glb")):
        mesh = load_mesh(path.read_bytes(), "glb")
        t0 = time.perf_counter()
        lods = lod_chain(mesh, ratios=RATIOS, samples=samples)
        out[path.stem] = {
            "lod_s": round(time.perf_counter() - t0, 4),
            "faces": [lod.faces for lod in lods],
            "hausdorff_rel": [round(lod.hausdorff_rel, 5) for lod in lods],
            "kept": {k: all(lod.kept[k] for lod in lods) for k in ("uv", "material", "normals")},
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a 100k-face mesh, fewer samples")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    faces = 100_000 if args.quick else 1_000_000
    samples = 5_000 if args.quick else 20_000
    load_before = os.getloadavg()[0]
    big = bumpy_torus(faces)
    timing = timed_decimation(big, args.runs)
    print(f"decimate {timing['faces_in']:,} -> {timing['faces_out']:,} faces: "
          f"cold {timing['cold_wall_s']} s, warm {timing['wall_s']} s")  # fmt: skip
    if not GLB_DIR.is_dir():
        raise SystemExit(f"shared models not found: {GLB_DIR}")
    per_model = glb_lods(samples)
    big_lods = lod_chain(big, ratios=RATIOS, samples=samples)
    per_model["generated-torus"] = {
        "faces": [lod.faces for lod in big_lods],
        "hausdorff_rel": [round(lod.hausdorff_rel, 6) for lod in big_lods],
        "kept": {k: all(lod.kept[k] for lod in big_lods) for k in ("uv", "material", "normals")},
    }
    errors = [e for m in per_model.values() for e in m["hausdorff_rel"][1:]]
    print(f"{'model':28} {'faces per LOD':32} hausdorff/diag per LOD")
    for name, row in per_model.items():
        print(f"{name:28} {row['faces']!s:32} {row['hausdorff_rel']}")
    key = "decimate_1m_to_10pct" if not args.quick else "decimate_100k_to_10pct"
    out: dict[str, Any] = {
        f"{key}.wall_s": timing["wall_s"],
        f"{key}.cold_wall_s": timing["cold_wall_s"],
        f"{key}.per_100k_faces_s": timing["per_100k_faces_s"],
        f"{key}.faces_out": timing["faces_out"],
        f"{key}.watertight_out": timing["watertight_out"],
        "lod.hausdorff_rel.p95": round(float(np.percentile(errors, 95)), 5),
        "lod.hausdorff_rel.median": round(float(np.median(errors)), 5),
        "lod.samples_per_surface": samples,
        "lod.ratios": list(RATIOS),
        "models": per_model,
        "quick": args.quick,
        "loadavg": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cpu_count": os.cpu_count(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    target = RESULTS if not args.quick else RESULTS.with_name("mesh_quick.json")
    target.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "models"}, indent=1))


if __name__ == "__main__":
    main()
