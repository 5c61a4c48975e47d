"""3D model format conversion with a report of what each conversion loses.

trimesh reads and writes glb, gltf, obj, stl and ply; Assimp's command-line
tool (Debian ``assimp-utils``), when installed, adds fbx, dae and 3ds as inputs
and dae as an output. Outputs that are several files (a ``.gltf`` with its
external ``.bin`` buffer and textures, an ``.obj`` with its ``.mtl`` and
textures) are delivered as one zip.

What is lost is decided from the formats and from what the source actually
has: stl keeps triangles only (no UVs, materials or colours); ply keeps vertex
colours but no materials; obj keeps materials and UVs through its mtl but no
animation, skinning or scene hierarchy; glb/gltf keep everything trimesh reads
except animations and skins, which trimesh does not carry (their presence in a
glTF source is read from its JSON, so the report says so).

Example:
    >>> import trimesh
    >>> box = trimesh.creation.box()
    >>> out = convert_model(box.export(file_type="glb"), "glb", "stl")
    >>> out.media_type, out.report.faces_in, out.report.faces_out, out.report.lost
    ('model/stl', 12, 12, [])
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trimesh

from agora.errors import InvalidInput

TRIMESH_IN = ("glb", "gltf", "obj", "stl", "ply")
TRIMESH_OUT = ("glb", "gltf", "obj", "stl", "ply")
ASSIMP_IN = ("fbx", "dae", "3ds")
ASSIMP_OUT = ("dae",)
# Assimp's format ids for the formats it writes here.
ASSIMP_IDS = {"dae": "collada", "glb": "glb2", "fbx": "fbxa", "3ds": "3ds"}
# Outputs asked for that are refused, and why.
REFUSED_OUTPUTS = {
    "fbx": "fbx output is not offered: Assimp's binary FBX writer produces files its own "
    "reader rejects (block offset out of range), and its ASCII FBX is not read by Blender",
    "3ds": "3ds output is not offered: the format caps a mesh at 65,535 vertices and has no PBR "
    "materials",
}
MEDIA_TYPES = {
    "glb": "model/gltf-binary",
    "gltf": "application/zip",  # .gltf + .bin + textures
    "obj": "application/zip",  # .obj + .mtl + textures
    "stl": "model/stl",
    "ply": "application/ply",
    "dae": "model/vnd.collada+xml",
}
# What each output format can carry at all.
CARRIES = {
    "glb": {"uv", "material", "vertex_colors", "hierarchy"},
    "gltf": {"uv", "material", "vertex_colors", "hierarchy"},
    "obj": {"uv", "material"},
    "stl": set(),
    "ply": {"vertex_colors"},
    "dae": {"uv", "material", "hierarchy"},
}
ASSIMP_TIMEOUT_S = 120.0


def assimp_available() -> bool:
    """True when Assimp's command-line tool is installed."""
    return shutil.which("assimp") is not None


def supported_inputs() -> tuple[str, ...]:
    """Input formats this machine can read."""
    return TRIMESH_IN + (ASSIMP_IN if assimp_available() else ())


def supported_outputs() -> tuple[str, ...]:
    """Output formats this machine can write."""
    return TRIMESH_OUT + (ASSIMP_OUT if assimp_available() else ())


@dataclass
class ConversionReport:
    """What went in, what came out and what did not survive."""

    source_format: str
    target_format: str
    faces_in: int
    faces_out: int
    had: list[str] = field(default_factory=list)  # features the source had
    lost: list[str] = field(default_factory=list)  # ... that the output does not keep

    def to_dict(self) -> dict[str, Any]:
        """JSON form stored with the derivative."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class Converted:
    """A converted model's bytes, media type and report."""

    data: bytes
    media_type: str
    report: ConversionReport


def _gltf_json(data: bytes, fmt: str) -> dict[str, Any]:
    """The glTF JSON chunk of a glb (or a bare .gltf), for animations and skins."""
    try:
        if fmt == "glb" and data[:4] == b"glTF":
            length = struct.unpack_from("<I", data, 12)[0]
            parsed = json.loads(data[20 : 20 + length])
        elif fmt == "gltf":
            parsed = json.loads(data)
        else:
            return {}
    except (ValueError, struct.error):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def features_of(scene: trimesh.Scene, data: bytes, fmt: str) -> list[str]:
    """Which of uv, material, vertex_colors, hierarchy, animation, skinning the source has."""
    found: set[str] = set()
    for geom in scene.geometry.values():
        visual = getattr(geom, "visual", None)
        if getattr(visual, "uv", None) is not None:
            found.add("uv")
        material = getattr(visual, "material", None)
        if material is not None:
            found.add("material")
        if getattr(visual, "kind", None) == "vertex":
            found.add("vertex_colors")
    if len(scene.geometry) > 1:
        found.add("hierarchy")
    gltf = _gltf_json(data, fmt)
    if gltf.get("animations"):
        found.add("animation")
    if gltf.get("skins"):
        found.add("skinning")
    return sorted(found)


def load_scene(data: bytes, fmt: str) -> trimesh.Scene:
    """A scene from a model file's bytes (Assimp first converts fbx/dae/3ds to glb)."""
    fmt = fmt.lower()
    if fmt in ASSIMP_IN:
        if not assimp_available():
            raise InvalidInput(f"{fmt} input needs Assimp (Debian package assimp-utils)")
        data, fmt = _assimp(data, fmt, "glb"), "glb"
    if fmt not in TRIMESH_IN:
        raise InvalidInput(
            f"cannot read {fmt!r} models; supported: {', '.join(supported_inputs())}"
        )
    try:
        if fmt in ("gltf", "obj") and data[:4] == b"PK\x03\x04":
            loaded = _load_zip(data, fmt)
        else:
            loaded = trimesh.load(io.BytesIO(data), file_type=fmt, force="scene", process=False)
    except InvalidInput:
        raise
    except Exception as exc:  # noqa: BLE001 - trimesh raises many types on corrupt input
        raise InvalidInput(f"cannot read the {fmt} model: {exc}") from None
    if not isinstance(loaded, trimesh.Scene) or not loaded.geometry:
        raise InvalidInput("the model has no geometry")
    return loaded


def _faces(scene: trimesh.Scene) -> int:
    return sum(len(getattr(g, "faces", ())) for g in scene.dump())


def convert_model(data: bytes, source_format: str, target_format: str) -> Converted:
    """``data`` (a ``source_format`` model) written as ``target_format``;
    ``InvalidInput`` names why when the pair is not supported."""
    source_format, target_format = source_format.lower(), target_format.lower()
    if target_format in REFUSED_OUTPUTS:
        raise InvalidInput(REFUSED_OUTPUTS[target_format])
    if target_format not in supported_outputs():
        raise InvalidInput(
            f"cannot write {target_format!r} models; supported: {', '.join(supported_outputs())}"
        )
    scene = load_scene(data, source_format)
    had = features_of(scene, data, source_format)
    keeps = CARRIES[target_format]
    lost = [f for f in had if f not in keeps]
    if target_format in ASSIMP_OUT:
        glb = scene.export(file_type="glb")  # type: ignore[no-untyped-call]
        out = _assimp(glb, "glb", target_format)
    elif target_format == "gltf":
        out = _zip(scene.export(file_type="gltf"))  # type: ignore[no-untyped-call]
    elif target_format == "obj":
        out = _zip(_obj_files(scene))
    elif target_format in ("stl", "ply"):
        # Single-mesh formats: the scene is flattened into world space.
        out = scene.to_mesh().export(file_type=target_format)
    else:
        out = scene.export(file_type=target_format)  # type: ignore[no-untyped-call]
    out_bytes = out if isinstance(out, bytes) else str(out).encode()
    faces_out = _faces(reload_output(out_bytes, target_format))
    report = ConversionReport(
        source_format, target_format, _faces(scene), faces_out, had=had, lost=lost
    )
    return Converted(out_bytes, MEDIA_TYPES[target_format], report)


def _obj_files(scene: trimesh.Scene) -> dict[str, bytes]:
    from trimesh.exchange.obj import export_obj

    text, texture = export_obj(  # type: ignore[no-untyped-call]
        scene, include_texture=True, return_texture=True, mtl_name="model.mtl"
    )
    files = {"model.obj": text.encode()}
    files.update({name: bytes(blob) for name, blob in texture.items()})
    return files


def _zip(files: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, blob in sorted(files.items()):
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))  # reproducible
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, bytes(blob))
    return buffer.getvalue()


def reload_output(data: bytes, fmt: str) -> trimesh.Scene:
    """Re-read a conversion's output."""
    return load_scene(data, fmt)


def _load_zip(data: bytes, fmt: str) -> trimesh.Scene | Any:
    # A zipped gltf/obj: its main file resolves buffers, mtl and textures by
    # relative path, so the zip is unpacked into a scratch folder first.
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(io.BytesIO(data)) as zf:
        for member in zf.namelist():  # refuse "../" and absolute names
            if member.startswith("/") or ".." in Path(member).parts:
                raise InvalidInput(f"unsafe path in the {fmt} zip: {member!r}")
        zf.extractall(tmp)
        main = next(Path(tmp).rglob(f"*.{fmt}"), None)
        if main is None:
            raise InvalidInput(f"the zip holds no .{fmt} file")
        return trimesh.load(str(main), force="scene", process=False)


def _assimp(data: bytes, source: str, target: str) -> bytes:
    """Run ``assimp export`` in a scratch folder (the CLI reads and writes files)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"in.{source}"
        dst = Path(tmp) / f"out.{target}"
        src.write_bytes(data)
        argv = ["assimp", "export", str(src), str(dst), f"-f{ASSIMP_IDS.get(target, target)}"]
        try:
            proc = subprocess.run(argv, capture_output=True, timeout=ASSIMP_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise InvalidInput(f"Assimp took over {ASSIMP_TIMEOUT_S:.0f} s on the model") from None
        if proc.returncode != 0 or not dst.is_file():
            # Assimp prints its errors on stdout ("ERROR: ...").
            text = (proc.stdout + proc.stderr).decode(errors="replace").splitlines()
            errors = [line for line in text if "ERROR" in line] or text[-1:] or ["no output"]
            raise InvalidInput(f"Assimp could not convert {source} to {target}: {errors[0]}")
        return dst.read_bytes()
