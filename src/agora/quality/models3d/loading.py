"""Load one model file into trimesh geometry, plus what its document declares.

trimesh reads glb, gltf, obj, stl, ply, off, dae (pycollada), 3mf (lxml),
dxf and svg (paths). Formats it cannot read (FBX) and formats whose optional
reader is absent go through Assimp's command line (Debian ``assimp-utils``):
``assimp export`` converts the file to binary glTF, which trimesh then reads,
and whose node and animation lists Assimp fills from the source.

Before loading, the files a model names are looked up beside it: a missing
glTF buffer or OBJ geometry cannot load (a ``fail``); a missing texture or
material library loads untextured (a ``warn``). This module runs inside the
sandboxed child process (``agora.quality.models3d.child``).

Example:
    >>> loaded = load_model(Path("box.obj"), "obj", assimp=None)  # doctest: +SKIP
    >>> loaded.scene.geometry  # doctest: +SKIP
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agora.uploads.resources import external_uris, gltf_document, referenced_names

# Formats trimesh reads itself (some through optional packages).
TRIMESH_FORMATS = frozenset({"glb", "gltf", "obj", "stl", "ply", "off", "dae", "3mf", "dxf", "svg"})
# Formats Assimp reads that trimesh does not, or whose trimesh reader may be absent.
ASSIMP_FORMATS = frozenset({"fbx", "dae", "3mf", "obj", "stl", "ply", "off", "glb", "gltf"})
# Units a format declares by specification when the file says nothing.
SPEC_UNITS = {"glb": "meters", "gltf": "meters", "3mf": "millimeters"}
METERS_PER_UNIT = {
    "meters": 1.0,
    "meter": 1.0,
    "m": 1.0,
    "millimeters": 0.001,
    "millimeter": 0.001,
    "centimeters": 0.01,
    "centimeter": 0.01,
    "micron": 1e-6,
    "inch": 0.0254,
    "foot": 0.3048,
}


_INIT_FROM = re.compile(r"<init_from>\s*(?:<ref>)?\s*([^<\s]+)\s*(?:</ref>)?\s*</init_from>")


class MissingBuffer(Exception):
    """A file holding the model's geometry is not beside it."""


@dataclass
class Loaded:
    """A loaded model: the trimesh scene and the facts read from the document."""

    scene: Any
    nodes: int | None = None
    animations: int = 0
    units: str | None = None
    meters_per_unit: float | None = None
    textured: bool = False
    missing_textures: list[str] = field(default_factory=list)
    missing_materials: list[str] = field(default_factory=list)
    converted_by: str | None = None


def _missing(base: Path, names: list[str]) -> list[str]:
    root = base.resolve()
    out = []
    for name in names:
        target = (root / name).resolve()
        # A name escaping the model's folder is never read: treat it as absent.
        if not target.is_relative_to(root) or not target.is_file():
            out.append(name)
    return out


def _document_facts(path: Path, fmt: str, loaded: Loaded) -> None:
    """Nodes, animations, units and the files the document names."""
    base = path.parent
    if fmt in ("gltf", "glb"):
        doc = gltf_document(path.read_bytes(), fmt)
        if doc is None:
            raise ValueError(f"{fmt}: the JSON document does not parse")
        buffers = _missing(base, external_uris(doc.get("buffers")))
        if buffers:
            raise MissingBuffer(f"buffer file(s) not in the upload: {', '.join(buffers[:5])}")
        loaded.nodes = len(doc.get("nodes") or [])
        loaded.animations = len(doc.get("animations") or [])
        loaded.textured = bool(doc.get("textures"))
        loaded.missing_textures = _missing(base, external_uris(doc.get("images")))
    elif fmt == "obj":
        libraries = referenced_names(path.read_bytes(), "obj")
        loaded.missing_materials = _missing(base, libraries)
        for lib in set(libraries) - set(loaded.missing_materials):
            maps = referenced_names((base / lib).read_bytes(), "mtl")
            loaded.textured = loaded.textured or bool(maps)
            loaded.missing_textures += _missing((base / lib).parent, maps)
    elif fmt == "dae":
        head = path.read_bytes()[:1_000_000].decode("utf-8", "replace")
        unit = re.search(r"<unit\b[^>]*\bmeter\s*=\s*\"([0-9.eE+-]+)\"", head)
        if unit:
            loaded.meters_per_unit = float(unit.group(1))
            named = re.search(r"<unit\b[^>]*\bname\s*=\s*\"([^\"]+)\"", head)
            loaded.units = named.group(1) if named else f"{unit.group(1)} m"
        loaded.animations = len(re.findall(r"<animation[\s>]", head))
        # Files are named by <image> elements only (COLLADA 1.4 init_from, 1.5
        # init_from/ref); a <surface>'s init_from names an image element's id.
        blocks = re.findall(r"<image\b.*?</image>", head, re.S)
        images = [m for b in blocks for m in _INIT_FROM.findall(b)]
        files = [i.removeprefix("file://") for i in images if not i.startswith("#")]
        loaded.textured = bool(files)
        loaded.missing_textures = _missing(base, files)
    elif fmt == "3mf":
        with zipfile.ZipFile(path) as package:
            head = package.open("3D/3dmodel.model").read(4096).decode("utf-8", "replace")
        unit = re.search(r"\bunit\s*=\s*\"(\w+)\"", head)
        loaded.units = unit.group(1) if unit else "millimeter"
    if loaded.units is None:
        loaded.units = SPEC_UNITS.get(fmt)
    if loaded.meters_per_unit is None and loaded.units is not None:
        loaded.meters_per_unit = METERS_PER_UNIT.get(loaded.units)


def _trimesh_scene(path: Path, fmt: str) -> Any:
    import trimesh

    # process=False: the geometry as stored, so that NaN vertices, degenerate
    # and duplicate faces are measured rather than silently cleaned away.
    return trimesh.load_scene(str(path), file_type=fmt, process=False)


def _reader_missing(exc: BaseException) -> bool:
    """trimesh stands in an ``ExceptionWrapper`` for a reader whose optional
    package is not installed: the failure is ours, not the file's."""
    return isinstance(exc, ImportError | ModuleNotFoundError) or "No module named" in str(exc)


def assimp_to_glb(path: Path, assimp: str, workdir: Path, timeout_s: float) -> Path:
    """Convert ``path`` to binary glTF 2 in ``workdir`` with Assimp's command line."""
    out = Path(tempfile.mkdtemp(prefix="assimp-", dir=workdir)) / "converted.glb"
    run = subprocess.run(
        [assimp, "export", str(path), str(out), "-fglb2"],
        capture_output=True,
        timeout=timeout_s,
        check=False,
    )
    if run.returncode != 0 or not out.is_file():
        lines = (run.stderr or run.stdout).decode("utf-8", "replace").strip().splitlines()
        error = next((ln for ln in lines if "rror" in ln), lines[-1] if lines else "")
        raise ValueError(f"Assimp cannot read it: {error.strip()[:300] or run.returncode}")
    return out


def load_model(
    path: Path, fmt: str, *, assimp: str | None, workdir: Path, timeout_s: float = 60.0
) -> Loaded:
    """Load ``path`` (of sniffed format ``fmt``). Raises ``MissingBuffer``,
    ``NotImplementedError`` (no reader for the format) or any exception of a
    reader for bad content."""
    loaded = Loaded(scene=None)
    # An Assimp that is configured but not installed is the same as none.
    assimp = shutil.which(assimp) if assimp else None
    _document_facts(path, fmt, loaded)
    if fmt in TRIMESH_FORMATS:
        try:
            loaded.scene = _trimesh_scene(path, fmt)
            return loaded
        except Exception as exc:
            if not (_reader_missing(exc) and assimp and fmt in ASSIMP_FORMATS):
                raise
    if not assimp or fmt not in ASSIMP_FORMATS:
        raise NotImplementedError(
            f"no reader for {fmt} is installed (Assimp's command line, Debian's "
            "assimp-utils, is not installed or is turned off)"
        )
    converted = assimp_to_glb(path, assimp, workdir, timeout_s)
    doc = gltf_document(converted.read_bytes(), "glb") or {}
    loaded.nodes = len(doc.get("nodes") or [])
    if fmt == "fbx":
        # Assimp keeps the source's texture paths: look for them beside the source.
        loaded.textured = bool(doc.get("textures"))
        loaded.missing_textures = _missing(path.parent, external_uris(doc.get("images")))
    loaded.animations = max(loaded.animations, len(doc.get("animations") or []))
    loaded.scene = _trimesh_scene(converted, "glb")
    loaded.converted_by = "assimp"
    return loaded
