"""Deterministic file analysis: format and engine-compatibility tags plus facts.

No model: magic bytes and file structure decide. Tags carry confidence 1.0
when the content confirms the format (GLB header, glTF JSON, FBX magic, a
gzip'd .unitypackage, Godot's ``[gd_scene`` header, PNG signature) and 0.9
when only the extension speaks. Facts are measured, not guessed: triangle
count (glTF accessors, OBJ faces), texture sizes (embedded or standalone
images), whether animations are present.

Example:
    >>> tags, facts = analyse_files([("ship.obj", b"v 0 0 0\\nv 1 0 0\\nv 0 1 0\\nf 1 2 3\\n")])
    >>> sorted(t.name for t in tags), facts["polycount"]
    (['any_engine', 'godot', 'obj', 'unity', 'unreal'], 1)
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import tarfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from PIL import Image

from agora.tagging.base import Tag, TaggingInput

MODEL = "file-analysis@1.0"
# Engines that import each 3D interchange format without a third-party plugin.
ENGINES_3D = {
    "gltf": ("any_engine", "godot", "web", "unity"),
    "obj": ("any_engine", "godot", "unity", "unreal"),
    "fbx": ("unity", "unreal", "godot"),
}
SCRIPTS = {
    ".gd": ("script_gdscript", "godot"),
    ".cs": ("script_csharp", "unity"),
    ".lua": ("script_lua", None),
    ".js": ("script_javascript", "web"),
    ".ts": ("script_javascript", "web"),
    ".py": ("script_python", None),
}
AUDIO = {".wav", ".ogg", ".mp3", ".flac"}
MAX_ZIP_MEMBERS = 2000


@dataclass
class Findings:
    """Tags found (max confidence per tag) and measured facts."""

    tags: dict[tuple[str, str], float] = field(default_factory=dict)
    facts: dict[str, Any] = field(
        default_factory=lambda: {"polycount": 0, "textures": [], "animated": False, "files": 0}
    )

    def add(self, category: str, name: str, confidence: float) -> None:
        key = (category, name)
        self.tags[key] = max(self.tags.get(key, 0.0), confidence)


def _gltf_json(data: bytes) -> tuple[dict[str, Any], bytes] | None:
    """(JSON document, binary chunk) of a GLB, or of a .gltf JSON file."""
    if data[:4] == b"glTF" and len(data) >= 20:
        length, kind = struct.unpack_from("<I4s", data, 12)
        if kind != b"JSON":
            return None
        doc = json.loads(data[20 : 20 + length])
        rest = data[20 + length :]
        binary = rest[8:] if len(rest) >= 8 and rest[4:8] == b"BIN\x00" else b""
        return doc, binary
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    return (doc, b"") if isinstance(doc, dict) and "asset" in doc else None


def _gltf_facts(doc: dict[str, Any], binary: bytes, found: Findings) -> None:
    accessors = doc.get("accessors") or []
    for mesh in doc.get("meshes") or []:
        for prim in mesh.get("primitives") or []:
            if prim.get("mode", 4) != 4:  # only triangle lists count as polygons
                continue
            idx = prim.get("indices")
            pos = (prim.get("attributes") or {}).get("POSITION")
            ref = idx if idx is not None else pos
            if isinstance(ref, int) and 0 <= ref < len(accessors):
                found.facts["polycount"] += int(accessors[ref].get("count", 0)) // 3
    found.facts["animated"] |= bool(doc.get("animations"))
    views = doc.get("bufferViews") or []
    for image in doc.get("images") or []:
        view = image.get("bufferView")
        if isinstance(view, int) and binary and 0 <= view < len(views):
            start = int(views[view].get("byteOffset", 0))
            size = _image_size(binary[start : start + int(views[view]["byteLength"])])
            if size:
                found.facts["textures"].append(size)


def _image_size(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.size
    # Decoders raise anything on hostile bytes: an unreadable image has no size.
    except Exception:  # noqa: BLE001
        return None


def _is_sprite_sheet(size: tuple[int, int]) -> bool:
    # A strip or grid of equal frames: one side a whole multiple (>= 4) of the other.
    w, h = size
    small, big = min(w, h), max(w, h)
    return small >= 8 and big % small == 0 and big // small >= 4


def _analyse(name: str, data: bytes, found: Findings, depth: int = 0) -> None:
    found.facts["files"] += 1
    suffix = PurePosixPath(name.lower()).suffix
    # The first family that recognises the file classifies it (name or magic bytes).
    if (
        _model_format(suffix, data, found)
        or _engine_format(suffix, data, found)
        or _media_format(suffix, data, found)
    ):
        return
    if suffix == ".zip" or data[:4] == b"PK\x03\x04":
        found.add("format", "archive", 1.0 if data[:4] == b"PK\x03\x04" else 0.9)
        if depth == 0:
            _analyse_zip(data, found)


def _model_format(suffix: str, data: bytes, found: Findings) -> bool:
    """3D model files (glTF, OBJ, FBX): their format and the engines that load them."""
    if suffix in (".glb", ".gltf") or data[:4] == b"glTF":
        parsed = None
        try:
            parsed = _gltf_json(data)
        except (ValueError, struct.error):
            parsed = None
        _add_3d(found, "gltf", 1.0 if parsed else 0.9)
        if parsed:
            _gltf_facts(parsed[0], parsed[1], found)
    elif suffix == ".obj":
        faces = [
            line.split()[1:]
            for line in data.decode("utf-8", "ignore").splitlines()
            if line.startswith("f ")
        ]
        found.facts["polycount"] += sum(max(len(f) - 2, 0) for f in faces)
        _add_3d(found, "obj", 1.0 if faces else 0.9)
    elif suffix == ".fbx" or data[:18] == b"Kaydara FBX Binary":
        sure = data[:18] == b"Kaydara FBX Binary" or b"FBXHeaderExtension" in data[:4096]
        _add_3d(found, "fbx", 1.0 if sure else 0.9)
    else:
        return False
    return True


def _add_3d(found: Findings, fmt: str, confidence: float) -> None:
    found.add("format", fmt, confidence)
    for engine in ENGINES_3D[fmt]:
        found.add("engine_compatibility", engine, confidence)


def _engine_format(suffix: str, data: bytes, found: Findings) -> bool:
    """Engine-specific packages, resources and scripts (Unity, Godot, Unreal)."""
    if suffix == ".unitypackage":
        sure = _is_unitypackage(data)
        found.add("format", "unitypackage", 1.0 if sure else 0.9)
        found.add("engine_compatibility", "unity", 1.0 if sure else 0.9)
    elif suffix in (".tscn", ".tres", ".godot") or data.startswith((b"[gd_scene", b"[gd_resource")):
        sure = data.startswith((b"[gd_scene", b"[gd_resource", b"; Engine configuration"))
        found.add("format", "godot_resource", 1.0 if sure else 0.9)
        found.add("engine_compatibility", "godot", 1.0 if sure else 0.9)
    elif suffix in (".uasset", ".umap"):
        found.add("engine_compatibility", "unreal", 0.9)
    elif suffix in SCRIPTS:
        script, script_engine = SCRIPTS[suffix]
        found.add("format", script, 0.9)
        if script_engine:
            found.add("engine_compatibility", script_engine, 0.9)
    else:
        return False
    return True


def _media_format(suffix: str, data: bytes, found: Findings) -> bool:
    """Audio and images; an image's size is a texture fact, a PNG strip a sprite sheet."""
    if suffix in AUDIO or data[:4] in (b"OggS", b"fLaC") or data[8:12] == b"WAVE":
        found.add(
            "format", "audio", 1.0 if data[:4] in (b"OggS", b"RIFF", b"fLaC", b"ID3") else 0.9
        )
    elif data[:8] == b"\x89PNG\r\n\x1a\n" or suffix in (".png", ".jpg", ".jpeg", ".webp", ".gif"):
        size = _image_size(data)
        if size:
            found.facts["textures"].append(size)
        if data[:8] == b"\x89PNG\r\n\x1a\n" and size:
            found.add("format", "sprite_sheet_png" if _is_sprite_sheet(size) else "png_sprite", 1.0)
        elif size:
            found.add("format", "image", 1.0)
    else:
        return False
    return True


def _is_unitypackage(data: bytes) -> bool:
    # A gzip'd tar of <guid>/asset + <guid>/pathname entries.
    try:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data[: 64 * 1024 * 1024]))) as tar:
            return any(m.name.endswith("/pathname") for m in tar.getmembers()[:500])
    except (OSError, tarfile.TarError, EOFError):
        return False


def _analyse_zip(data: bytes, found: Findings) -> None:
    # Members are classified by name and (small ones) by content; never extracted to disk.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist()[:MAX_ZIP_MEMBERS]:
                if info.is_dir():
                    continue
                small = info.file_size <= 8 * 1024 * 1024
                body = zf.read(info) if small else b""
                _analyse(info.filename, body, found, depth=1)
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError):
        return


def analyse_files(files: Sequence[tuple[str, bytes]]) -> tuple[list[Tag], dict[str, Any]]:
    """Format/engine tags and facts for the files of one asset."""
    found = Findings()
    for name, data in files:
        _analyse(name, data, found)
    tags = [Tag(name, conf, cat, MODEL) for (cat, name), conf in sorted(found.tags.items())]
    textures = found.facts["textures"]
    found.facts["texture_max"] = max((max(s) for s in textures), default=None)
    found.facts["textures"] = [list(s) for s in textures[:50]]
    return tags, found.facts


class FileAnalysisTagger:
    """Tagger wrapper over ``analyse_files`` (facts land in ``item.cache['file_facts']``)."""

    model = MODEL

    def predict(self, item: TaggingInput) -> list[Tag]:
        tags, facts = analyse_files(item.files)
        item.cache["file_facts"] = facts
        return tags
