"""3D validation over real and broken models (issue 23, item 2).

Files:

- every GLB of ``../shared/data/kenney-city-builder-glb/models`` (with its
  texture atlas beside it, as a seller would upload it), and the same models
  converted to every supported format: glTF with an external ``.bin`` (and
  the texture), OBJ + MTL (+ texture), STL, PLY, OFF and 3MF (trimesh's
  exporters), COLLADA and FBX (Assimp's ``assimp export``, when Debian's
  assimp-utils is installed: FBX absent otherwise, COLLADA by trimesh; the FBX
  is ASCII, because the binary FBX that Assimp 5.2.5 writes is refused by its
  own importer);
- generated broken meshes (``agora.testing.broken_meshes``): holes, flipped
  faces, every face inverted, degenerate triangles, duplicate faces, a
  non-manifold fin, NaN vertices, truncated files, missing glTF buffers and
  OBJ material libraries, empty models of five formats, a model over budget.

Each file goes the way an upload goes: typed by content (``sniff``: a file
the upload refuses counts as refused, with its reason), then validated by
``validate_model`` in its bounded child process, exactly as the ``models3d``
step does.

Figures: ``verdict_rate``: files that got a verdict (ok / warn / fail with a
reason for each failure, or a refusal at upload with its reason) over all
files; a file typed as anything but a 3D model (skipped by the step) has
none. ``defects_detected_rate``: broken files for which every expected
defect was reported, over all broken files. Also the verdicts of the clean
conversions per format (``clean.fail``: clean files that failed, each listed
with its reason), and seconds per file. The machine's load average is recorded.

Run: ``.venv/bin/python benchmarks/models3d.py [--quick]``; writes
``benchmarks/results/models3d.json`` (``--quick``: ``models3d_quick.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from agora.errors import AgoraError
from agora.quality.models3d import SandboxLimits, validate_model
from agora.testing.broken_meshes import REJECTED, broken_meshes
from agora.uploads.sniff import SNIFF_BYTES, sniff

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "kenney-city-builder-glb" / "models"
RESULTS = ROOT / "benchmarks" / "results"
CONVERTED = ("gltf", "obj", "stl", "ply", "off", "dae", "3mf", "fbx")


def _assimp() -> str | None:
    return shutil.which("assimp")


def _convert(glb: Path, fmt: str, into: Path) -> Path | None:
    """``glb`` (texture beside it) written as ``fmt`` in ``into``, sidecars included."""
    import trimesh

    into.mkdir(parents=True, exist_ok=True)
    stem = glb.stem
    assimp = _assimp()
    if fmt == "fbx" or (fmt == "dae" and assimp is not None):
        if assimp is None:
            return None
        # ASCII FBX: the binary FBX that Debian's Assimp 5.2.5 writes is refused
        # by its own importer ("block offset is out of range"). COLLADA through
        # Assimp keeps the node tree and textures (trimesh exports meshes only).
        flag = "-ffbxa" if fmt == "fbx" else "-fcollada"
        out = into / f"{stem}.{fmt}"
        # Assimp keeps the texture's relative path: upload the texture with it.
        shutil.copytree(glb.parent / "Textures", into / "Textures", dirs_exist_ok=True)
        subprocess.run(
            [assimp, "export", str(glb), str(out), flag], check=True, capture_output=True
        )
        return out
    scene = trimesh.load_scene(str(glb))
    if fmt == "gltf":
        files = scene.export(file_type="gltf")
        for name, data in files.items():
            (into / name).write_bytes(bytes(data))
        return into / next(n for n in files if n.endswith(".gltf"))
    if fmt == "obj":
        text, textures = trimesh.exchange.obj.export_obj(
            scene, include_texture=True, return_texture=True, mtl_name=f"{stem}.mtl"
        )
        for name, data in textures.items():
            (into / name).write_bytes(bytes(data))
        (into / f"{stem}.obj").write_text(text)
        return into / f"{stem}.obj"
    target = into / f"{stem}.{fmt}"
    source = scene if fmt == "3mf" else scene.to_mesh()
    data = source.export(file_type=fmt)
    target.write_bytes(data.encode() if isinstance(data, str) else bytes(data))
    return target


def _typed(path: Path) -> tuple[str | None, str | None, str | None]:
    """(format, kind, refusal) as the upload types the file."""
    data = path.read_bytes()
    try:
        s = sniff(data[:SNIFF_BYTES], name=path.name, size=len(data))
    except AgoraError as exc:
        return None, None, f"{type(exc).__name__}: {exc}"
    return s.format, s.kind, None


def _validate(path: Path, budget: int | None, limits: SandboxLimits) -> dict[str, Any]:
    fmt, kind, refusal = _typed(path)
    start = time.perf_counter()
    if refusal is not None:
        report: dict[str, Any] = {
            "verdict": "fail",
            "defects": [{"code": REJECTED, "message": refusal, "severity": "fail"}],
        }
    elif kind != "model3d":
        report = {"verdict": None, "defects": [], "skipped": f"typed as {kind} ({fmt})"}
    else:
        report = validate_model(path, str(fmt), budget=budget, limits=limits)
    report["seconds"] = time.perf_counter() - start
    report["typed"] = fmt
    return report


def _has_verdict(report: dict[str, Any]) -> bool:
    if report.get("verdict") not in ("ok", "warn", "fail"):
        return False
    if report["verdict"] == "fail":
        fails = [d for d in report["defects"] if d.get("severity") == "fail"]
        return bool(fails) and all(d.get("message") for d in fails)
    return True


def _clean_files(work: Path, quick: bool) -> list[tuple[str, str, Path]]:
    glbs = sorted(DATA.glob("*.glb"))[: 3 if quick else None]
    source = work / "source"
    shutil.copytree(DATA, source)
    files = []
    for glb in glbs:
        files.append(("glb", glb.stem, source / glb.name))
        for fmt in CONVERTED:
            try:
                path = _convert(source / glb.name, fmt, work / fmt / glb.stem)
            except Exception as exc:  # noqa: BLE001 - an exporter's failure is reported
                print(f"  conversion {glb.stem} -> {fmt} failed: {exc}")
                path = None
            if path is not None:
                files.append((fmt, glb.stem, path))
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 Kenney models only")
    parser.add_argument("--jobs", type=int, default=2, help="files validated at once")
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"dataset not found: {DATA}")
    limits = SandboxLimits(timeout_s=60, memory_mb=2048, assimp=_assimp())
    with tempfile.TemporaryDirectory(prefix="bench-models3d-") as tmp:
        work = Path(tmp)
        clean = _clean_files(work, args.quick)
        broken = broken_meshes()
        broken_paths = []
        for i, case in enumerate(broken):
            folder = work / "broken" / str(i)
            folder.mkdir(parents=True)
            for name, data in case.files.items():
                (folder / name).write_bytes(data)
            broken_paths.append(folder / next(iter(case.files)))
        jobs = [(p, None) for _, _, p in clean] + [
            (p, c.budget) for p, c in zip(broken_paths, broken, strict=True)
        ]
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            reports = list(pool.map(lambda j: _validate(j[0], j[1], limits), jobs))
        wall = time.perf_counter() - started
    clean_reports, broken_reports = reports[: len(clean)], reports[len(clean) :]
    with_verdict = sum(_has_verdict(r) for r in reports)
    detected = []
    for case, report in zip(broken, broken_reports, strict=True):
        codes = {d["code"] for d in report["defects"]}
        detected.append(all(codes & group for group in case.expected))
    per_format: dict[str, Counter[str]] = defaultdict(Counter)
    for (fmt, _, _), report in zip(clean, clean_reports, strict=True):
        per_format[fmt][str(report.get("verdict"))] += 1
    clean_fail = [
        {"file": f"{stem}.{fmt}", "defects": r["defects"]}
        for (fmt, stem, _), r in zip(clean, clean_reports, strict=True)
        if r.get("verdict") != "ok" and r.get("verdict") != "warn"
    ]
    missed = [
        {"file": c.name, "expected": [sorted(g) for g in c.expected], "got": r["defects"]}
        for c, r, ok in zip(broken, broken_reports, detected, strict=True)
        if not ok
    ]
    by_breakage: dict[str, list[bool]] = defaultdict(list)
    for case, ok in zip(broken, detected, strict=True):
        by_breakage[case.breakage].append(ok)
    clean_defects = Counter(d["code"] for r in clean_reports for d in r.get("defects", []))
    figures: dict[str, Any] = {
        "verdict_rate": round(with_verdict / len(reports), 4),
        "defects_detected_rate": round(sum(detected) / len(detected), 4),
        "files": len(reports),
        "clean.files": len(clean_reports),
        "broken.files": len(broken_reports),
        "clean.verdicts_by_format": {f: dict(c) for f, c in sorted(per_format.items())},
        "clean.fail": clean_fail,
        "clean.defect_counts": dict(clean_defects.most_common()),
        "broken.detected_by_breakage": {
            b: round(sum(v) / len(v), 4) for b, v in sorted(by_breakage.items())
        },
        "broken.missed": missed,
        "fbx.available": _assimp() is not None,
        "seconds_per_file": round(wall * args.jobs / len(reports), 3),
        "wall_s": round(wall, 1),
        "jobs": args.jobs,
        "loadavg": round(os.getloadavg()[0], 2),
        "quick": args.quick,
    }
    print(f"{'format':8} {'files':>5}  verdicts")
    for fmt, counts in sorted(per_format.items()):
        print(f"{fmt:8} {sum(counts.values()):5}  {dict(counts)}")
    print(f"{'breakage':16} detected")
    for breakage, rate in figures["broken.detected_by_breakage"].items():
        print(f"{breakage:16} {rate:.2f}")
    print(
        f"verdict_rate {figures['verdict_rate']:.4f}  "
        f"defects_detected_rate {figures['defects_detected_rate']:.4f}  "
        f"files {len(reports)}  {figures['seconds_per_file']} s/file  "
        f"loadavg {figures['loadavg']:.2f}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("models3d_quick.json" if args.quick else "models3d.json")
    out.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
