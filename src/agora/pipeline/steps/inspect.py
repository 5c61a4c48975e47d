"""Per-format content checks used by the ``integrity`` step.

Each ``check_*`` function takes a local path (or an in-memory stream) and
returns the facts it found, or raises any exception for bad content: the
step turns exceptions into ``ok: false`` with the message, so third-party
decoders (Pillow, trimesh, tree-sitter) may fail however they like.

Scripts are parsed by real parsers: Python with ``ast``, JSON with ``json``,
Lua, C#, GDScript and JavaScript with tree-sitter grammars (a file is invalid
when the syntax tree has an ERROR or MISSING node).

Example:
    >>> check_script(io.BytesIO(b"x = 1\\n"), "python")["lines"]
    1
"""

from __future__ import annotations

import ast
import io
import json
import struct
import warnings
from functools import cache
from typing import Any, BinaryIO

from agora.config import UploadSettings
from agora.errors import PayloadTooLarge
from agora.uploads.archives import inspect_archive

Source = str | BinaryIO  # a local path, or a seekable stream

_TREE_SITTER = {
    "lua": "tree_sitter_lua",
    "csharp": "tree_sitter_c_sharp",
    "gdscript": "tree_sitter_gdscript",
    "javascript": "tree_sitter_javascript",
}


def _read(source: Source) -> bytes:
    if isinstance(source, str):
        with open(source, "rb") as fh:
            return fh.read()
    source.seek(0)
    return source.read()


def check_image(source: Source, limits: UploadSettings) -> dict[str, Any]:
    """Decode every pixel of the first frame; count frames."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(source) as image:
            width, height = image.size
            # A bomb stored before the limits tightened must not take the worker down.
            if width * height > limits.max_image_pixels:
                raise PayloadTooLarge(f"{width}x{height} pixels exceeds the limit")
            image.load()
            frames = int(getattr(image, "n_frames", 1))
            has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
                "transparency" in image.info
            )
            return {
                "width": width,
                "height": height,
                "mode": image.mode,
                "format": image.format,
                "frames": frames,
                "has_alpha": has_alpha,
            }


def _gltf_document(fmt: str, data: bytes) -> dict[str, Any] | None:
    if fmt == "gltf":
        doc = json.loads(data)
        return doc if isinstance(doc, dict) else None
    if fmt == "glb" and len(data) >= 20:
        length, kind = struct.unpack_from("<I4s", data, 12)
        if kind == b"JSON":
            doc = json.loads(data[20 : 20 + length])
            return doc if isinstance(doc, dict) else None
    return None


def _external_uris(items: Any) -> list[str]:
    """URIs that point outside the file (not ``data:`` URIs)."""
    uris = [item.get("uri") for item in items or [] if isinstance(item, dict)]
    return [u for u in uris if isinstance(u, str) and not u.startswith("data:")]


_FBX_NOTE = "header checked only; the models3d step reads it with Assimp"


def check_model(source: Source, fmt: str) -> dict[str, Any]:
    """Load a 3D file with trimesh (FBX: header only, trimesh has no FBX loader;
    the ``models3d`` step reads it with Assimp in a bounded child process)."""
    data = _read(source)
    if fmt == "fbx":
        if data.startswith(b"; FBX "):
            return {"fbx_version": None, "loaded": False, "note": _FBX_NOTE}
        if len(data) < 27 or not data.startswith(b"Kaydara FBX Binary  \x00"):
            raise ValueError("not a binary FBX file (bad header)")
        version = struct.unpack_from("<I", data, 23)[0]
        return {"fbx_version": version, "loaded": False, "note": _FBX_NOTE}
    doc = _gltf_document(fmt, data)
    facts: dict[str, Any] = {}
    if doc is not None:
        facts["has_animation"] = bool(doc.get("animations"))
        facts["has_skin"] = bool(doc.get("skins"))
        buffers = _external_uris(doc.get("buffers"))
        facts["external_resources"] = buffers + _external_uris(doc.get("images"))
        if buffers:
            # Geometry lives in sibling files this single blob cannot resolve.
            return {**facts, "loaded": False}
    import trimesh

    loaded = trimesh.load(io.BytesIO(data), file_type=fmt)
    geometries: list[Any] = (
        list(loaded.geometry.values()) if isinstance(loaded, trimesh.Scene) else [loaded]
    )
    meshes = [g for g in geometries if isinstance(g, trimesh.Trimesh)]
    vertices = sum(len(getattr(g, "vertices", ())) for g in geometries)
    if vertices == 0:
        raise ValueError("model has no geometry")
    textures = sorted({tuple(img.size) for g in meshes for img in _textures(g)})
    return {
        **facts,
        "loaded": True,
        "geometries": len(geometries),
        "vertices": vertices,
        "faces": sum(len(g.faces) for g in meshes),
        "watertight": bool(meshes) and all(g.is_watertight for g in meshes),
        "bounds": [[float(v) for v in row] for row in loaded.bounds],
        "texture_sizes": [list(size) for size in textures],
    }


def _textures(mesh: Any) -> list[Any]:
    material = getattr(mesh.visual, "material", None)
    found = [
        getattr(material, attr, None)
        for attr in ("baseColorTexture", "image", "normalTexture", "emissiveTexture")
    ]
    return [img for img in found if img is not None and hasattr(img, "size")]


@cache
def _parser(language: str) -> Any:
    import importlib

    import tree_sitter

    grammar = importlib.import_module(_TREE_SITTER[language])
    return tree_sitter.Parser(tree_sitter.Language(grammar.language()))


def _first_error(node: Any) -> Any:
    if node.type == "ERROR" or node.is_missing:
        return node
    for child in node.children:
        if child.has_error:
            return _first_error(child)
    return node


def check_script(source: Source, language: str) -> dict[str, Any]:
    """Parse a script; raise ``SyntaxError``/``ValueError`` with the position."""
    data = _read(source)
    text = data.decode("utf-8-sig")  # strict: a script must be UTF-8
    facts: dict[str, Any] = {
        "language": language,
        "lines": text.count("\n") + 1 - text.endswith("\n"),
    }
    if language == "python":
        tree = ast.parse(text)
        facts["parser"] = "ast"
        facts["functions"] = sum(
            isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) for n in ast.walk(tree)
        )
    elif language == "json":
        json.loads(text)
        facts["parser"] = "json"
    elif language in _TREE_SITTER:
        root = _parser(language).parse(text.encode()).root_node
        facts["parser"] = f"tree-sitter-{language}"
        if root.has_error:
            bad = _first_error(root)
            line, column = bad.start_point
            what = "missing token" if bad.is_missing else "syntax error"
            raise SyntaxError(f"{language} {what} at line {line + 1}, column {column + 1}")
    return facts


def check_archive(source: Source, fmt: str, limits: UploadSettings) -> dict[str, Any]:
    """List entries through the central directory / a streaming walk (no extraction)."""
    if isinstance(source, str):
        with open(source, "rb") as fh:
            report = inspect_archive(fh, fmt, limits)
    else:
        report = inspect_archive(source, fmt, limits)
    return {
        "entries": report.entries,
        "uncompressed_bytes": report.uncompressed_bytes,
        "ratio": round(report.ratio, 2),
        "nested_archives": report.nested,
        "names": report.names[:50],
    }


def check_document(source: Source, fmt: str) -> dict[str, Any]:
    """PDF: header and end-of-file marker. Text: strict UTF-8."""
    data = _read(source)
    if fmt == "pdf":
        if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-2048:]:
            raise ValueError("PDF is truncated (no %%EOF marker at the end)")
        return {"pdf_version": data[5:8].decode("ascii", "replace")}
    text = data.decode("utf-8-sig")
    return {"chars": len(text), "lines": text.count("\n") + 1}
