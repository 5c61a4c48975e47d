"""Files that a 3D model names: a glTF's buffers and images, an OBJ's material
libraries, a material library's textures.

A model uploaded as several files (``tank.gltf`` + ``tank.bin`` + textures)
only works if the upload accepts the sidecar files. A glTF buffer is raw
numbers with no magic number, so it cannot be typed by content; it is
accepted because a model of the same upload names it (``is_referenced``),
never because of its extension.

Example:
    >>> gltf = b'{"asset": {"version": "2.0"}, "buffers": [{"uri": "tank%20a.bin"}]}'
    >>> referenced_names(gltf, "gltf")
    ['tank a.bin']
    >>> is_referenced("models/tank a.bin", frozenset({"tank a.bin"}))
    True
"""

from __future__ import annotations

import json
import posixpath
import re
import struct
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

from agora.errors import AgoraError
from agora.uploads.sniff import SNIFF_BYTES, sniff

# MTL statements that name a texture file: the file is the last token (options
# such as "-s 1 1 1" come before it).
_MTL_MAPS = re.compile(
    r"^\s*(map_\w+|bump|disp|decal|refl|norm)\s+(?:.*\s)?(\S+)\s*$", re.M | re.IGNORECASE
)
_MTLLIB = re.compile(r"^\s*mtllib\s+(.+?)\s*$", re.M)


def normalise(name: str) -> str:
    """A relative path with forward slashes and no ``./`` parts (``..`` kept,
    so that callers can refuse it)."""
    path = posixpath.normpath(name.replace("\\", "/"))
    return "" if path == "." else path


def gltf_document(data: bytes, fmt: str) -> dict[str, Any] | None:
    """The JSON document of a ``gltf`` file or of a ``glb`` file's JSON chunk
    (None when there is none or it does not parse)."""
    try:
        if fmt == "gltf":
            doc = json.loads(data)
        elif fmt == "glb" and len(data) >= 20:
            length, kind = struct.unpack_from("<I4s", data, 12)
            if kind != b"JSON":
                return None
            doc = json.loads(data[20 : 20 + length])
        else:
            return None
    except (ValueError, struct.error):
        return None
    return doc if isinstance(doc, dict) else None


def external_uris(items: Any) -> list[str]:
    """Decoded URIs of glTF ``buffers`` or ``images`` entries that point to
    other files (``data:`` URIs and buffer-view images are inside the file)."""
    if not isinstance(items, list):
        return []
    uris = [item.get("uri") for item in items if isinstance(item, dict)]
    return [unquote(u) for u in uris if isinstance(u, str) and u and not u.startswith("data:")]


def referenced_names(data: bytes, fmt: str) -> list[str]:
    """Relative names of the files that this model (``gltf``, ``glb``, ``obj``)
    or material library (``mtl``) refers to, in order, without duplicates."""
    names: list[str] = []
    if fmt in ("gltf", "glb"):
        doc = gltf_document(data, fmt) or {}
        names = external_uris(doc.get("buffers")) + external_uris(doc.get("images"))
    elif fmt in ("obj", "mtl"):
        text = data.decode("utf-8", "replace")
        if fmt == "obj":
            # "mtllib a.mtl b.mtl": several libraries may share one statement.
            names = [n for m in _MTLLIB.finditer(text) for n in m.group(1).split()]
        else:
            names = [m.group(2) for m in _MTL_MAPS.finditer(text)]
    return list(dict.fromkeys(normalise(n) for n in names if normalise(n)))


def is_referenced(name: str | None, resources: Iterable[str]) -> bool:
    """Whether an uploaded file called ``name`` is one of ``resources``: the
    same relative path, or the same base name (clients often send only the
    base name of each file of a multi-file upload)."""
    if not name:
        return False
    wanted = normalise(name)
    base = posixpath.basename(wanted)
    return any(r == wanted or posixpath.basename(r) == base for r in resources)


def model_resources(files: Iterable[tuple[str | None, bytes]]) -> frozenset[str]:
    """Every name that the glTF and OBJ models among ``files`` refer to; each
    file is typed by its content first (a JSON that is not a glTF names
    nothing)."""
    names: set[str] = set()
    for name, data in files:
        try:
            fmt = sniff(data[:SNIFF_BYTES], name=name, size=len(data)).format
        except AgoraError:
            continue
        if fmt in ("gltf", "glb", "obj"):
            names.update(referenced_names(data, fmt))
    return frozenset(names)
