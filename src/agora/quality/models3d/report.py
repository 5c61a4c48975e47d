"""The result of validating one 3D model: facts, defects and a verdict.

A model's report is a plain JSON object (it crosses a process boundary and is
stored as the step's output)::

    {"loaded": bool, "format": str, "faces": int, "vertices": int,
     "polycount_budget": int | None, "over_budget": bool,
     "watertight": bool | None, "manifold": bool | None,
     "winding_consistent": bool | None, "degenerate_faces": int,
     "duplicate_faces": int, "bbox": [[x, y, z], [x, y, z]] | None,
     "scale_units": str | None, "uvs": bool, "missing_textures": [str],
     "nodes": int, "animations": int,
     "defects": [{"code": str, "message": str, "severity": str}],
     "verdict": "ok" | "warn" | "fail"}

``severity`` of a defect is ``fail`` (the model cannot be used as uploaded),
``warn`` (it loads, but a buyer's engine may show it wrong) or ``info``
(worth knowing, normal for many game assets: an open mesh such as a plane or
a foliage card is not watertight). The verdict is the worst severity present
(``info`` counts as ``ok``).

Example:
    >>> r = empty_report("obj")
    >>> add_defect(r, "degenerate_faces", "2 faces have no area")
    >>> finish(r)["verdict"]
    'warn'
"""

from __future__ import annotations

from typing import Any, Literal

Severity = Literal["fail", "warn", "info"]
Verdict = Literal["ok", "warn", "fail"]

# Every defect code and its severity. Documented in docs/capabilities/quality-models3d.md.
DEFECTS: dict[str, Severity] = {
    "load_failed": "fail",  # not parseable: corrupt, truncated, wrong content
    "unsupported_format": "fail",  # no installed loader reads it (e.g. FBX without Assimp)
    "missing_buffer": "fail",  # a glTF buffer / OBJ geometry file is not in the upload
    "empty": "fail",  # loads, but has no vertices or no faces
    "non_finite_vertices": "fail",  # NaN or infinite coordinates
    "face_index_out_of_range": "fail",  # faces point at vertices that do not exist
    "timeout": "fail",  # validation ran past its time limit
    "resource_limit": "fail",  # validation ran out of its memory limit or crashed
    "over_budget": "warn",  # more triangles than the category's budget
    "inconsistent_winding": "warn",  # neighbouring faces disagree (flipped faces)
    "inverted": "warn",  # closed mesh whose faces all point inwards
    "non_manifold": "warn",  # an edge shared by more than two faces
    "degenerate_faces": "warn",  # faces with zero area or a repeated vertex
    "duplicate_faces": "warn",  # the same triangle twice
    "missing_textures": "warn",  # a texture the model names is not in the upload
    "missing_material": "warn",  # an OBJ material library is not in the upload
    "missing_uvs": "warn",  # textured, but without texture coordinates
    "implausible_scale": "warn",  # bounding box under 1 mm or over 10 km
    "holes": "warn",  # a closed surface with a few missing faces
    "not_watertight": "info",  # open mesh (holes or boundary edges)
}
_RANK = {"info": 0, "warn": 1, "fail": 2}


def empty_report(fmt: str) -> dict[str, Any]:
    """A report with every field at its 'nothing known' value."""
    return {
        "loaded": False,
        "format": fmt,
        "faces": 0,
        "vertices": 0,
        "polycount_budget": None,
        "over_budget": False,
        "watertight": None,
        "manifold": None,
        "winding_consistent": None,
        "degenerate_faces": 0,
        "duplicate_faces": 0,
        "bbox": None,
        "scale_units": None,
        "uvs": False,
        "missing_textures": [],
        "nodes": 0,
        "animations": 0,
        "defects": [],
        "verdict": "ok",
    }


def add_defect(report: dict[str, Any], code: str, message: str) -> None:
    """Record a defect (once per code) with the severity of its code."""
    if any(d["code"] == code for d in report["defects"]):
        return
    report["defects"].append({"code": code, "message": message, "severity": DEFECTS[code]})


def verdict_of(defects: list[dict[str, Any]]) -> Verdict:
    """``fail`` or ``warn`` by the worst defect; ``ok`` when only ``info`` ones."""
    worst = max((_RANK[d.get("severity", "warn")] for d in defects), default=0)
    return "fail" if worst == 2 else "warn" if worst == 1 else "ok"


def finish(report: dict[str, Any]) -> dict[str, Any]:
    """Set the verdict from the defects and return the report."""
    report["verdict"] = verdict_of(report["defects"])
    return report


def failed(fmt: str, code: str, message: str) -> dict[str, Any]:
    """The report of a model that could not be validated at all."""
    report = empty_report(fmt)
    add_defect(report, code, message)
    return finish(report)
