"""Every script of an upload: the file itself, the members of a ZIP or tar
archive (one nested level, within the upload limits), and scripts embedded as
text in scenes and pages (Godot ``.tscn``/``.tres`` built-in scripts, HTML
``<script>`` blocks). Binary scenes (Unity prefabs reference their C# by GUID,
they never hold code) are not scripts.

Archives are walked by ``agora.uploads.archives.inspect_archive`` first, so a
bomb or a path-traversal member is refused before anything is read.

Example:
    >>> [s.name for s in scripts_in("player.gd", b"extends Node\\n", UploadSettings())[0]]
    ['player.gd']
"""

from __future__ import annotations

import gzip
import io
import re
import tarfile
import zipfile
from pathlib import PurePosixPath

from agora.codereview.base import ScriptFile
from agora.codereview.languages import script_language
from agora.config import UploadSettings
from agora.uploads.archives import inspect_archive

MAX_SCRIPT_BYTES = 2_000_000  # a larger "script" is data, not code to review
_GODOT_SOURCE = re.compile(r'script/source\s*=\s*"((?:[^"\\]|\\.)*)"', re.S)
_HTML_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)</script>", re.S | re.I)
_SCENES = (".tscn", ".tres", ".escn")
_PAGES = (".html", ".htm")


def _archive_format(name: str, data: bytes) -> str | None:
    if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        return "zip"
    if data[:2] == b"\x1f\x8b":
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz"):
                return "tar.gz"
        except tarfile.TarError:
            return None
    if len(data) > 262 and data[257:262] == b"ustar":
        return "tar"
    return None


def _godot_unescape(text: str) -> str:
    return text.replace('\\"', '"').replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")


def _embedded(name: str, text: str) -> list[ScriptFile]:
    lower = name.lower()
    if lower.endswith(_SCENES):
        return [
            ScriptFile(f"{name}#script{i}", "gdscript", _godot_unescape(m.group(1)))
            for i, m in enumerate(_GODOT_SOURCE.finditer(text))
        ]
    if lower.endswith(_PAGES):
        return [
            ScriptFile(f"{name}#script{i}", "javascript", m.group(1))
            for i, m in enumerate(_HTML_SCRIPT.finditer(text))
            if m.group(1).strip()
        ]
    return []


def _decode(data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("latin-1") if b"\x00" not in data[:4096] else None
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes any byte
            return None


def _members(fmt: str, data: bytes) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    if fmt == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    out.append((info.filename, zf.read(info)))
        return out
    raw = gzip.decompress(data) if fmt == "tar.gz" else data
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tf:
        for member in tf:
            if member.isfile():
                fh = tf.extractfile(member)
                if fh is not None:
                    out.append((member.name, fh.read()))
    return out


def scripts_in(
    name: str, data: bytes, limits: UploadSettings, *, depth: int = 0
) -> tuple[list[ScriptFile], list[str]]:
    """The scripts of an upload, and the names skipped (too large, not text)."""
    fmt = _archive_format(name, data)
    if fmt is not None:
        if depth == 0:
            inspect_archive(io.BytesIO(data), fmt, limits)  # raises on bombs and traversal
        scripts: list[ScriptFile] = []
        skipped: list[str] = []
        for member, content in _members(fmt, data):
            inner = f"{name}!{member}"
            if depth < 1 and _archive_format(member, content) is not None:
                more, more_skipped = scripts_in(inner, content, limits, depth=depth + 1)
                scripts += more
                skipped += more_skipped
                continue
            found, why = _one(inner, member, content)
            scripts += found
            skipped += why
        return scripts, skipped
    found, skipped = _one(name, name, data)
    return found, skipped


def _one(label: str, name: str, data: bytes) -> tuple[list[ScriptFile], list[str]]:
    language = script_language(name)
    lower = PurePosixPath(name).suffix.lower()
    if language is None and lower not in _SCENES and lower not in _PAGES:
        return [], []
    if len(data) > MAX_SCRIPT_BYTES:
        return [], [f"{label} (over {MAX_SCRIPT_BYTES} bytes)"]
    text = _decode(data)
    if text is None:
        return [], [f"{label} (not text)"]
    if language is not None:
        return [ScriptFile(label, language, text)], []
    return _embedded(label, text), []
