"""Lay an asset's files out in a folder so that each model finds its sidecars.

A multi-file upload (``tank.gltf`` + ``tank.bin`` + ``colormap.png``) and a
zip holding the same files are the two ways a seller ships a model whose
geometry or textures live in other files. Both end up here as one folder per
source: the upload's files under their names, each archive extracted (after
the same bomb and path-traversal checks as at upload) into a folder of its
own. Clients often send only base names, so a file a model names as
``Textures/colormap.png`` but uploaded as ``colormap.png`` is placed where
the model looks for it. Models are then found by content (``sniff``), never
by extension.

Example:
    >>> models = stage_asset(blobs, asset["files"], Path(tmp), limits)  # doctest: +SKIP
    >>> [(m.name, m.format) for m in models]  # doctest: +SKIP
    [('tank.gltf', 'gltf')]
"""

from __future__ import annotations

import posixpath
import shutil
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agora.blobs.base import BlobStore
from agora.config import UploadSettings
from agora.errors import AgoraError, NotFound
from agora.uploads.archives import inspect_archive, unsafe_member_name
from agora.uploads.resources import normalise, referenced_names
from agora.uploads.sniff import SNIFF_BYTES, sniff

# Formats whose references are followed to place sidecar files.
_REFERRING = ("gltf", "glb", "obj")


@dataclass(frozen=True)
class StagedModel:
    """A model file found in the asset: where it lies and what it is."""

    name: str  # as the seller named it; "pack.zip:models/tank.gltf" inside an archive
    path: Path
    format: str
    sha256: str | None


def _safe_relative(name: str) -> str:
    path = normalise(name)
    if not path or unsafe_member_name(path):
        return posixpath.basename(name.replace("\\", "/")) or "unnamed"
    return path


def _write_blob(blobs: BlobStore, sha256: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    local = blobs.path_for(sha256)
    if local is not None:
        shutil.copyfile(local, target)
    else:
        target.write_bytes(blobs.get(sha256))


def _extract(archive: Path, fmt: str, into: Path, limits: UploadSettings) -> None:
    """Extract regular files only, after ``inspect_archive`` accepted the whole."""
    with archive.open("rb") as fh:
        inspect_archive(fh, fmt, limits)  # raises on bombs, traversal, links
    if fmt == "zip":
        with zipfile.ZipFile(archive) as package:
            for info in package.infolist():
                if not info.is_dir() and not unsafe_member_name(info.filename):
                    target = into / _safe_relative(info.filename)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with package.open(info) as src, target.open("wb") as dst:
                        shutil.copyfileobj(src, dst)
    else:
        with tarfile.open(archive, mode="r:*") as package:
            for member in package:
                if member.isfile() and not unsafe_member_name(member.name):
                    body = package.extractfile(member)
                    if body is None:
                        continue
                    target = into / _safe_relative(member.name)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with body, target.open("wb") as out:
                        shutil.copyfileobj(body, out)


def _sniffed(path: Path) -> str | None:
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    try:
        s = sniff(head, name=path.name, size=path.stat().st_size)
    except AgoraError:
        return None
    return s.format if s.kind in ("model3d", "archive") else None


def _place_sidecars(model: Path, fmt: str, folder: Path) -> None:
    """Copy a file the model names but that lies elsewhere in ``folder`` under
    the same base name to where the model looks for it."""
    if fmt not in _REFERRING:
        return
    names = referenced_names(model.read_bytes(), fmt)
    if fmt == "obj":  # the material libraries name the textures
        libs = [model.parent / n for n in names if (model.parent / n).is_file()]
        names += [n for lib in libs for n in referenced_names(lib.read_bytes(), "mtl")]
    by_base: dict[str, Path] = {}
    for existing in sorted(folder.rglob("*")):
        if existing.is_file():
            by_base.setdefault(existing.name, existing)
    root = folder.resolve()
    for name in names:
        wanted = (model.parent / name).resolve()
        found = by_base.get(posixpath.basename(name))
        if wanted.exists() or found is None or not wanted.is_relative_to(root):
            continue
        wanted.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(found, wanted)


def stage_asset(
    blobs: BlobStore, refs: list[dict[str, Any]], folder: Path, limits: UploadSettings
) -> list[StagedModel]:
    """Write every file of ``refs`` into ``folder``, extract archives, and
    return the 3D models found (by content), in upload order."""
    uploads = folder / "files"
    found: list[tuple[str, Path, str, str | None]] = []
    for i, ref in enumerate(refs):
        sha = str(ref.get("sha256"))
        name = str(ref.get("name") or sha)
        target = uploads / _safe_relative(name)
        if target.exists():  # two uploads with one name: keep both
            target = uploads / f"{i}" / target.name
        try:
            _write_blob(blobs, sha, target)
        except NotFound:
            continue  # the integrity step reports missing blobs
        fmt = _sniffed(target)
        if fmt is not None:
            found.append((name, target, fmt, sha))
    models: list[StagedModel] = []
    for i, (name, path, fmt, digest) in enumerate(found):
        if fmt in ("zip", "tar", "tar.gz"):
            models += _stage_archive(name, path, fmt, folder / f"archive-{i}", limits)
        elif fmt == "gzip":
            continue  # one compressed file: not a model bundle
        else:
            _place_sidecars(path, fmt, uploads)
            models.append(StagedModel(name, path, fmt, digest))
    return models


def _stage_archive(
    name: str, path: Path, fmt: str, into: Path, limits: UploadSettings
) -> list[StagedModel]:
    try:
        _extract(path, fmt, into, limits)
    except (AgoraError, OSError, zipfile.BadZipFile, tarfile.TarError):
        return []  # refused archives are the integrity step's finding
    models = []
    for member in sorted(p for p in into.rglob("*") if p.is_file()):
        fmt_inner = _sniffed(member)
        if fmt_inner is None or fmt_inner in ("zip", "tar", "tar.gz", "gzip"):
            continue
        _place_sidecars(member, fmt_inner, into)
        inner = member.relative_to(into).as_posix()
        models.append(StagedModel(f"{name}:{inner}", member, fmt_inner, None))
    return models
