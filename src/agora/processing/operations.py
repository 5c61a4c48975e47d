"""Run one optimisation on a source file's bytes: the files it produces and
what they are (model@version, metadata such as LOD errors or what a
conversion lost). Pure functions of their inputs: no catalog, no blob store.

Example:
    >>> import trimesh
    >>> glb = trimesh.creation.icosphere(subdivisions=3).export(file_type="glb")
    >>> out = run_operation("lods", LodOptions(ratios=[1.0, 0.5]), glb, "model3d", "glb")
    >>> [f.name for f in out.files], out.meta["lods"][1]["faces"] <= 640
    (['lod0.glb', 'lod1.glb'], True)
"""

from __future__ import annotations

import importlib.metadata
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from agora.errors import InvalidInput
from agora.processing.options import (
    ConvertOptions,
    LodOptions,
    ThumbnailOptions,
    UpscaleOptions,
)

#: ``progress(percent, message)``; raises to stop (a cancelled job).
Progress = Callable[[float, str], None]
MODEL_FORMATS = ("glb", "gltf", "obj", "stl", "ply", "fbx", "dae", "3ds")
IMAGE_TARGETS = ("webp", "avif", "png")


@dataclass(frozen=True)
class OutputFile:
    """One produced file: a name unique within its derivative, bytes, media type."""

    name: str
    data: bytes
    media_type: str


@dataclass
class OperationResult:
    """Every file an operation produced and how it made them."""

    files: list[OutputFile]
    model: str  # name@version of the algorithm or net
    meta: dict[str, Any] = field(default_factory=dict)


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def _open_image(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as exc:  # noqa: BLE001 - Pillow raises several types on corrupt input
        raise InvalidInput(f"cannot read the image: {exc}") from None
    return image


def _png_or_webp(image: Image.Image, fmt: str) -> OutputFile:
    buffer = io.BytesIO()
    if fmt == "png":
        image.save(buffer, format="PNG")
    else:
        image.save(buffer, format="WEBP", lossless=True)
    return OutputFile(f"upscaled.{fmt}", buffer.getvalue(), f"image/{fmt}")


def upscale(options: UpscaleOptions, data: bytes, progress: Progress) -> OperationResult:
    """The image at 4x, tiled, alpha kept."""
    from agora.processing.upscale import Upscaler

    image = _open_image(data)
    upscaler = Upscaler(options.model, tile=options.tile, threads=1)
    out = upscaler.upscale(
        image,
        tileable=options.tileable,
        progress=lambda done, total: progress(90.0 * done / total, f"tile {done}/{total}"),
    )
    meta = {"size_in": list(image.size), "size_out": list(out.image.size), "tiles": out.tiles}
    if out.fallback:
        meta["fallback"] = out.fallback
    return OperationResult([_png_or_webp(out.image, options.format)], out.model, meta)


def lods(options: LodOptions, data: bytes, fmt: str, progress: Progress) -> OperationResult:
    """A LOD chain as glb files, each level's Hausdorff error in the metadata."""
    from agora.processing.mesh import DEFAULT_LOD_RATIOS, load_mesh, lod_chain

    progress(5.0, "reading the model")
    mesh = _mesh_from(data, fmt, load_mesh)
    ratios = options.ratios or list(DEFAULT_LOD_RATIOS)
    targets: list[Any] = options.face_budgets or ratios
    files, levels = [], []
    for i, target in enumerate(targets):
        progress(10.0 + 80.0 * i / len(targets), f"LOD {i} of {len(targets)}")
        kwargs: dict[str, Any] = (
            {"face_budgets": [target]} if options.face_budgets else {"ratios": [target]}
        )
        (level,) = lod_chain(mesh, samples=options.samples, **kwargs)
        assert level.mesh is not None
        files.append(OutputFile(f"lod{i}.glb", _glb(level.mesh), "model/gltf-binary"))
        levels.append(level.to_dict())
    model = f"fast-simplification@{_version('fast-simplification')}"
    return OperationResult(files, model, {"lods": levels, "faces_in": len(mesh.faces)})


def _glb(mesh: Any) -> bytes:
    return bytes(mesh.export(file_type="glb"))


def _mesh_from(data: bytes, fmt: str, load_mesh: Callable[[bytes, str], Any]) -> Any:
    if fmt in ("glb", "obj", "stl", "ply"):
        return load_mesh(data, fmt)
    from agora.processing.convert import load_scene

    return load_scene(data, fmt).to_mesh()


def convert(
    options: ConvertOptions, data: bytes, kind: str, fmt: str, progress: Progress
) -> OperationResult:
    """A model to another model format (with a loss report), or an image to
    webp/avif/png within the size limits."""
    progress(10.0, f"converting {fmt} to {options.target}")
    if kind == "image":
        from agora.processing.images import encode_image

        if options.target not in IMAGE_TARGETS:
            raise InvalidInput(
                f"an image converts to {', '.join(IMAGE_TARGETS)}, not {options.target}"
            )
        out = encode_image(
            _open_image(data),
            options.target,  # type: ignore[arg-type]
            max_bytes=options.max_bytes,
            max_side=options.max_side,
        )
        file = OutputFile(f"image.{options.target}", out.data, out.media_type)
        meta = {"size": list(out.size), "quality": out.quality}
        return OperationResult([file], f"pillow@{_version('pillow')}", meta)
    if options.target in IMAGE_TARGETS:
        raise InvalidInput(f"a 3D model does not convert to {options.target}; ask for thumbnails")
    from agora.processing.convert import convert_model

    converted = convert_model(data, fmt, options.target)
    ext = "zip" if converted.media_type == "application/zip" else options.target
    file = OutputFile(f"model.{ext}", converted.data, converted.media_type)
    return OperationResult(
        [file], f"trimesh@{_version('trimesh')}", {"report": converted.report.to_dict()}
    )


def thumbnails(
    options: ThumbnailOptions, data: bytes, kind: str, fmt: str, progress: Progress
) -> OperationResult:
    """Square thumbnails of an image, or of a 3D model's shaded preview."""
    from agora.processing.images import encode_image, thumbnail

    files = []
    if kind == "image":
        image = _open_image(data)
        model = f"pillow@{_version('pillow')}"
    else:
        from agora.processing.convert import load_scene
        from agora.processing.render import render_preview, render_turntable

        scene = load_scene(data, fmt)
        image = render_preview(scene, side=max(options.sizes))
        model = f"agora-flat-render@1+trimesh-{_version('trimesh')}"
        if options.turntable:
            progress(50.0, "turntable")
            turntable = render_turntable(scene, side=min(256, max(options.sizes)))
            files.append(OutputFile("turntable.webp", turntable, "image/webp"))
    for i, side in enumerate(sorted(set(options.sizes))):
        progress(60.0 + 30.0 * i / len(options.sizes), f"thumbnail {side}px")
        thumb = thumbnail(image, side, options.format)
        files.append(OutputFile(f"thumb-{side}.{options.format}", thumb.data, thumb.media_type))
    if kind != "image":
        png = encode_image(image, "png")
        files.append(OutputFile("preview.png", png.data, png.media_type))
    return OperationResult(files, model, {"sizes": sorted(set(options.sizes))})


def run_operation(
    operation: str, options: Any, data: bytes, kind: str, fmt: str, progress: Progress | None = None
) -> OperationResult:
    """Dispatch ``operation`` on a source file of ``kind`` (image or model3d)
    in format ``fmt`` (its extension)."""
    report = progress or (lambda _p, _m: None)
    if operation == "upscale":
        if kind != "image":
            raise InvalidInput("upscale needs an image")
        return upscale(options, data, report)
    if operation == "lods":
        if kind != "model3d":
            raise InvalidInput("lods needs a 3D model")
        return lods(options, data, fmt, report)
    if operation == "convert":
        return convert(options, data, kind, fmt, report)
    if operation == "thumbnails":
        return thumbnails(options, data, kind, fmt, report)
    raise InvalidInput(f"unknown operation {operation!r}")
