"""Decide a file's type from its content, never from its name.

``sniff`` looks at the first bytes (``SNIFF_BYTES`` is enough): magic numbers
for binary formats, structure for text formats (glTF JSON, OBJ, ASCII STL) and
keyword heuristics for scripts. The file name only tells whether the extension
agrees (``extension_matches``) and breaks ties between script languages that
the content already supports; it never turns bytes into an accepted type.

Example:
    >>> sniff(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(24), name="lies.glb")
    Sniffed(media_type='image/png', kind='image', extension_matches=False, format='png')
"""

from __future__ import annotations

import codecs
import json
import re
import struct
import zlib
from dataclasses import dataclass

from agora.errors import InvalidInput, UnsupportedMediaType

SNIFF_BYTES = 64 * 1024

# format -> (media type, kind, extensions that agree with it)
FORMATS: dict[str, tuple[str, str, frozenset[str]]] = {
    "png": ("image/png", "image", frozenset({"png", "apng"})),
    "jpeg": ("image/jpeg", "image", frozenset({"jpg", "jpeg", "jpe", "jfif"})),
    "gif": ("image/gif", "image", frozenset({"gif"})),
    "webp": ("image/webp", "image", frozenset({"webp"})),
    "bmp": ("image/bmp", "image", frozenset({"bmp", "dib"})),
    "tiff": ("image/tiff", "image", frozenset({"tif", "tiff"})),
    "glb": ("model/gltf-binary", "model3d", frozenset({"glb", "vrm"})),
    "gltf": ("model/gltf+json", "model3d", frozenset({"gltf"})),
    "obj": ("model/obj", "model3d", frozenset({"obj"})),
    "stl": ("model/stl", "model3d", frozenset({"stl"})),
    "fbx": ("application/vnd.autodesk.fbx", "model3d", frozenset({"fbx"})),
    "ply": ("application/ply", "model3d", frozenset({"ply"})),
    "off": ("model/off", "model3d", frozenset({"off"})),
    "dae": ("model/vnd.collada+xml", "model3d", frozenset({"dae"})),
    "3mf": ("model/3mf", "model3d", frozenset({"3mf"})),
    "dxf": ("image/vnd.dxf", "model3d", frozenset({"dxf"})),
    "svg": ("image/svg+xml", "model3d", frozenset({"svg"})),
    "zip": ("application/zip", "archive", frozenset({"zip"})),
    "tar": ("application/x-tar", "archive", frozenset({"tar"})),
    "tar.gz": ("application/gzip", "archive", frozenset({"tgz", "gz", "unitypackage"})),
    "gzip": ("application/gzip", "archive", frozenset({"gz"})),
    "pdf": ("application/pdf", "document", frozenset({"pdf"})),
    "python": ("text/x-python", "script", frozenset({"py", "pyw"})),
    "lua": ("text/x-lua", "script", frozenset({"lua"})),
    "csharp": ("text/x-csharp", "script", frozenset({"cs"})),
    "gdscript": ("text/x-gdscript", "script", frozenset({"gd"})),
    "javascript": ("text/javascript", "script", frozenset({"js", "mjs", "cjs"})),
    "json": ("application/json", "script", frozenset({"json"})),
    # Never sniffed: a glTF's external buffer has no magic number. The upload
    # accepts it only beside a glTF that names it (``agora.uploads.resources``).
    "bin": ("application/octet-stream", "resource", frozenset({"bin"})),
    "text": ("text/plain", "document", frozenset({"txt", "md", "csv", "log", "ini", "cfg", "mtl"})),
}
IMAGE_FORMATS = frozenset(f for f, (_, kind, _e) in FORMATS.items() if kind == "image")
_SCRIPT_LANGS = ("python", "lua", "csharp", "gdscript", "javascript")
# Extensions of text formats: a script in a ".txt" file does not lie about being text.
_TEXT_EXTS = frozenset().union(
    *(
        FORMATS[f][2]
        for f in (*_SCRIPT_LANGS, "json", "text", "gltf", "obj", "stl", "ply", "off", "dae")
    )
)

# Keyword evidence per language: (pattern, weight). Multiline regexes over the head.
_SCRIPT_HINTS: dict[str, list[tuple[re.Pattern[str], int]]] = {
    "python": [
        (re.compile(r"^\s*def \w+\(.*\)\s*(->.*)?:\s*$", re.M), 3),
        (re.compile(r"^\s*class \w+(\(.*\))?:\s*$", re.M), 3),
        (re.compile(r"^(import \w+|from [\w.]+ import )", re.M), 3),
        (re.compile(r"^if __name__ == ['\"]__main__['\"]:", re.M), 5),
        (re.compile(r"\bself\.\w+"), 1),
        (re.compile(r"^\s*(elif .*|else|try|except.*|with .*):\s*$", re.M), 1),
    ],
    "gdscript": [
        (re.compile(r"^extends \w+", re.M), 5),
        (re.compile(r"^\s*func \w+\(.*\)\s*(->\s*\w+)?\s*:", re.M), 4),
        (re.compile(r"^(class_name|signal|onready var|@export|@onready) ", re.M), 4),
        (re.compile(r"^\s*var \w+\s*(:\s*\w+)?\s*(=|$)", re.M), 1),
    ],
    "lua": [
        (re.compile(r"^\s*local (function )?\w+", re.M), 3),
        (re.compile(r"^\s*(local )?function [\w.:]+\(.*\)\s*$", re.M), 3),
        (re.compile(r"^\s*end\s*$", re.M), 2),
        (re.compile(r"\bthen\s*$", re.M), 2),
        (re.compile(r"^\s*--"), 1),
        (re.compile(r"~=|\.\.\s*['\"]"), 1),
    ],
    "csharp": [
        (re.compile(r"^using [\w.]+;\s*$", re.M), 4),
        (re.compile(r"^\s*namespace [\w.]+", re.M), 3),
        (
            re.compile(
                r"\b(public|private|protected|internal)\s+(static\s+)?(class|void|int|"
                r"float|string|bool|override)\b"
            ),
            3,
        ),
        (re.compile(r":\s*MonoBehaviour\b"), 5),
        (re.compile(r"\[SerializeField\]"), 3),
    ],
    "javascript": [
        (re.compile(r"^\s*(const|let|var) \w+\s*=", re.M), 2),
        (re.compile(r"\bfunction\s*\w*\s*\([^)]*\)\s*\{"), 3),
        (re.compile(r"=>"), 2),
        (re.compile(r"^(import .* from ['\"]|export (default|const|function|class) )", re.M), 4),
        (re.compile(r"\b(require\(|module\.exports|console\.log\(|document\.|window\.)"), 3),
    ],
}
_OBJ_KEYWORDS = re.compile(r"^(v|vt|vn|vp|f|l|p|o|g|s|usemtl|mtllib)\b")
# OFF: an optional prefix of ST/C/N/4/n, "OFF", then (maybe on the next line)
# the vertex, face and edge counts.
_OFF_HEADER = re.compile(r"(ST)?C?N?4?n?OFF(\s*#[^\n]*)*\s+(\d+\s+){2}\d+\b")
# DXF: group code 0 "SECTION", group code 2 and a section name (999 comments first).
_DXF_HEADER = re.compile(
    r"(999\s*\r?\n[^\n]*\n\s*)*0\s*\r?\n\s*SECTION\s*\r?\n\s*2\s*\r?\n\s*"
    r"(HEADER|CLASSES|TABLES|BLOCKS|ENTITIES|OBJECTS)\b"
)


@dataclass(frozen=True)
class Sniffed:
    """The content's type. ``format`` is the key in ``FORMATS`` (e.g. "png")."""

    media_type: str
    kind: str
    extension_matches: bool
    format: str


def extension_of(name: str | None) -> str | None:
    """Lower-case extension without the dot (``"a.TAR.GZ"`` -> ``"gz"``), or None."""
    if not name or "." not in name.rsplit("/", 1)[-1]:
        return None
    return name.rsplit(".", 1)[-1].lower() or None


def sniff(head: bytes, *, name: str | None = None, size: int | None = None) -> Sniffed:
    """Classify ``head`` (the file's first bytes; pass ``size`` when known, it
    confirms binary STL). Raises ``InvalidInput`` for empty content and
    ``UnsupportedMediaType`` for binary content of no accepted format."""
    if not head:
        raise InvalidInput(f"{name or 'file'} is empty")
    fmt = _binary_format(head, size)
    if fmt is None:
        text = _decode_text(head)
        if text is None:
            raise UnsupportedMediaType(
                f"{name or 'file'}: unrecognised binary content (not an accepted image, "
                "3D model, archive, script, PDF or UTF-8 text)",
                declared_name=name,
            )
        fmt = _text_format(text, extension_of(name))
    media_type, kind, exts = FORMATS[fmt]
    ext = extension_of(name)
    matches = ext is None or ext in exts or (fmt in _TEXT_FORMATS and ext in _TEXT_EXTS)
    return Sniffed(media_type=media_type, kind=kind, extension_matches=matches, format=fmt)


_TEXT_FORMATS = frozenset({*_SCRIPT_LANGS, "json", "text"})


def _binary_format(head: bytes, size: int | None) -> str | None:
    return _image_format(head) or _model_or_archive_format(head, size)


def _image_format(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    # BMP's "BM" is two printable letters; the DIB header size must be a known one.
    dib_sizes = (12, 40, 52, 56, 64, 108, 124)
    if head[:2] == b"BM" and len(head) >= 18 and struct.unpack_from("<I", head, 14)[0] in dib_sizes:
        return "bmp"
    return None


def _model_or_archive_format(head: bytes, size: int | None) -> str | None:
    if head[:4] == b"glTF" and len(head) >= 12 and struct.unpack_from("<I", head, 4)[0] in (1, 2):
        return "glb"
    if head.startswith(b"Kaydara FBX Binary"):
        return "fbx"
    if re.match(rb"ply\r?\nformat (ascii|binary_little_endian|binary_big_endian) ", head):
        return "ply"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        # 3MF is an OPC zip whose model part has a fixed name; the local file
        # headers near the start carry the entry names.
        return "3mf" if b"3D/3dmodel.model" in head else "zip"
    if head[:2] == b"\x1f\x8b":
        return "tar.gz" if _gzip_holds_tar(head) else "gzip"
    if len(head) > 262 and head[257:262] == b"ustar":
        return "tar"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if _is_binary_stl(head, size):
        return "stl"
    return None


def _gzip_holds_tar(head: bytes) -> bool:
    # Inflate only the first few hundred bytes: enough for the tar header magic.
    try:
        inner = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 512)
    except zlib.error:
        return False
    return len(inner) > 262 and inner[257:262] == b"ustar"


def _is_binary_stl(head: bytes, size: int | None) -> bool:
    # 80-byte header, uint32 triangle count, then 50 bytes per triangle. Many
    # exporters start the header with "solid", so the size equation decides.
    if len(head) < 84:
        return False
    count = struct.unpack_from("<I", head, 80)[0]
    if size is not None:
        return bool(count > 0 and size == 84 + 50 * count)
    return False


def _decode_text(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        # final=False: a multi-byte character cut at the end of the head is fine.
        text: str = decoder.decode(head.removeprefix(codecs.BOM_UTF8), final=False)
    except UnicodeDecodeError:
        return None
    controls = sum(1 for c in text[:4096] if ord(c) < 32 and c not in "\t\n\r\f\v")
    return None if controls > 8 else text


def _text_format(text: str, ext: str | None) -> str:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        return _json_format(stripped)
    if re.match(r"solid\b", stripped) and re.search(r"\b(facet|endsolid)\b", text):
        return "stl"
    model = _text_model_format(stripped, ext)
    if model is not None:
        return model
    if stripped.startswith("#!"):
        shebang = stripped.split("\n", 1)[0]
        for key, fmt in (("python", "python"), ("node", "javascript"), ("lua", "lua")):
            if key in shebang:
                return fmt
    scores = {
        lang: sum(w for rx, w in _SCRIPT_HINTS[lang] if rx.search(text)) for lang in _SCRIPT_LANGS
    }
    # The extension may pick among languages the content shows evidence of
    # (content is already known to be harmless text; this only picks a parser).
    by_ext = next((lang for lang in _SCRIPT_LANGS if ext in FORMATS[lang][2]), None)
    if by_ext is not None and scores[by_ext] > 0:
        return by_ext
    best = max(scores, key=lambda lang: scores[lang])
    return best if scores[best] >= 3 else "text"


_GLTF_KEYS = re.compile(r'"(accessors|bufferViews|buffers|meshes|nodes|scenes|materials)"\s*:\s*\[')


def _json_format(stripped: str) -> str:
    try:
        doc = json.loads(stripped)
    except ValueError:
        # Head may be cut mid-document: fall back to the shape of the opening.
        if re.search(r'"asset"\s*:\s*\{[^{}]*"version"\s*:', stripped[:SNIFF_BYTES]):
            return "gltf"
        # "asset" may come after a large embedded buffer: glTF's own top-level
        # arrays (three of them, as keys) are evidence enough.
        keys = set(_GLTF_KEYS.findall(stripped[:SNIFF_BYTES]))
        return "gltf" if len(keys) >= 3 else "json"
    asset = doc.get("asset") if isinstance(doc, dict) else None
    return "gltf" if isinstance(asset, dict) and "version" in asset else "json"


def _text_model_format(stripped: str, ext: str | None) -> str | None:
    """OFF, COLLADA, SVG, DXF, ASCII FBX or OBJ by structure."""
    if _OFF_HEADER.match(stripped):
        return "off"
    if re.match(r"; FBX \d+\.\d+", stripped):
        return "fbx"  # Autodesk's ASCII FBX: Assimp reads it
    if stripped.startswith("<"):
        opening = stripped[:8192]
        if re.search(r"<COLLADA[\s>]", opening):
            return "dae"
        if re.search(r"<svg[\s>]", opening) and not re.search(r"<html[\s>]", opening, re.I):
            return "svg"
    if _DXF_HEADER.match(stripped):
        return "dxf"
    return "obj" if _looks_like_obj(stripped, ext) else None


def _looks_like_obj(text: str, ext: str | None) -> bool:
    lines = [ln.strip() for ln in text.splitlines()[:2000]]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if not lines:
        return False
    known = sum(1 for ln in lines if _OBJ_KEYWORDS.match(ln))
    if known < 0.9 * len(lines):
        return False
    vertices = sum(1 for ln in lines if ln.startswith("v "))
    if vertices >= 3:
        return True
    # An OBJ without geometry (only objects, groups, materials) is still an
    # OBJ, typed as one so its empty mesh is flagged like an empty PLY or STL.
    # Weak evidence: a material statement, or the extension, must agree.
    materials = any(ln.startswith(("mtllib ", "usemtl ")) for ln in lines)
    return materials or (ext == "obj" and len(lines) >= 1)
