"""Previews of 3D models without a GPU: a flat-shaded software render.

No offscreen OpenGL renderer is installed on these machines (pyrender and
Blender are absent), so previews are drawn with the painter's algorithm:
triangles projected orthographically from a 3/4 view, sorted back to front,
filled with their face colour (the material's base colour or the texture's
mean colour under the face's UVs when there is one) times a Lambert term for
one directional light plus ambient. It is a shaded silhouette: no texture
detail, no shadows, no anti-aliasing beyond a 2x supersample. The turntable is
the same render at ``frames`` angles around the vertical axis, as an animated
webp.

Example:
    >>> import trimesh
    >>> img = render_preview(trimesh.creation.box(), side=64)
    >>> img.size, img.mode
    ((64, 64), 'RGBA')
"""

from __future__ import annotations

import io

import numpy as np
import trimesh
from PIL import Image, ImageDraw

LIGHT = np.array([0.4, 0.8, 0.45]) / np.linalg.norm([0.4, 0.8, 0.45])
AMBIENT = 0.35
SUPERSAMPLE = 2
# Faces drawn at most: a preview of a 1M-face mesh is decimated first.
MAX_FACES = 20_000


def _face_colors(mesh: trimesh.Trimesh) -> np.ndarray:
    """RGB per face in [0, 1]."""
    try:
        colors = mesh.visual.to_color().face_colors  # type: ignore[union-attr]
        return np.asarray(colors, dtype=np.float64)[:, :3] / 255.0
    except Exception:  # noqa: BLE001 - a material trimesh cannot sample: neutral grey
        return np.full((len(mesh.faces), 3), 0.7)


def _rotation(yaw_deg: float, pitch_deg: float = -25.0) -> np.ndarray:
    yaw, pitch = np.radians(yaw_deg), np.radians(pitch_deg)
    ry = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    rx = np.array(
        [[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]]
    )
    return np.asarray(rx @ ry)


def render_preview(
    model: trimesh.Trimesh | trimesh.Scene, *, side: int = 256, yaw_deg: float = 35.0
) -> Image.Image:
    """A ``side`` x ``side`` RGBA preview (transparent background)."""
    mesh = model.to_mesh() if isinstance(model, trimesh.Scene) else model
    if len(mesh.faces) > MAX_FACES:
        from agora.processing.mesh import decimate

        mesh = decimate(mesh, face_budget=MAX_FACES)
    canvas = Image.new("RGBA", (side * SUPERSAMPLE, side * SUPERSAMPLE), (0, 0, 0, 0))
    if len(mesh.faces) == 0:
        return canvas.resize((side, side), Image.Resampling.LANCZOS)
    rot = _rotation(yaw_deg)
    centred = np.asarray(mesh.vertices) - mesh.bounding_box.centroid
    radius = float(np.linalg.norm(centred, axis=1).max()) or 1.0
    view = centred @ rot.T / radius  # in [-1, 1]
    tris = view[mesh.faces]
    normals = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    lengths = np.linalg.norm(normals, axis=1)
    normals = normals / np.where(lengths > 0, lengths, 1.0)[:, None]
    # Two-sided lighting: many game meshes have inconsistent winding.
    shade = AMBIENT + (1 - AMBIENT) * np.abs(normals @ LIGHT)
    colors = np.clip(_face_colors(mesh) * shade[:, None], 0, 1)
    order = np.argsort(tris[:, :, 2].mean(axis=1))  # far (negative z) first
    half = side * SUPERSAMPLE / 2 * 0.92
    xy = np.stack([tris[:, :, 0] * half + half / 0.92, -tris[:, :, 1] * half + half / 0.92], -1)
    draw = ImageDraw.Draw(canvas)
    for i in order:
        r, g, b = (int(c * 255) for c in colors[i])
        draw.polygon([tuple(p) for p in xy[i]], fill=(r, g, b, 255))
    return canvas.resize((side, side), Image.Resampling.LANCZOS)


def render_turntable(
    model: trimesh.Trimesh | trimesh.Scene, *, side: int = 256, frames: int = 24
) -> bytes:
    """An animated webp turning the model once around its vertical axis."""
    images = [render_preview(model, side=side, yaw_deg=360.0 * k / frames) for k in range(frames)]
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        format="WEBP",
        save_all=True,
        append_images=images[1:],
        duration=int(4000 / frames),
        loop=0,
        quality=80,
    )
    return buffer.getvalue()
