"""Image moderation on safe game art: ``moderation.art_false_flag_rate``.

Every image of ``../shared/data/arcade-kenney-sprites`` (PNG, JPEG, GIF) and
of ``kenney-city-builder-glb`` (the PNGs shipped beside the models, the
textures the GLB files embed or reference, and a 512x512 render of each GLB
model, flat-shaded and drawn back to front with Pillow from its textured
triangles) goes through ``ImageSafety.analyze`` once; each verdict then
becomes an asset decision with ``agora.moderation.score.assess`` (no text),
as the pipeline decides. All of it is safe art, so:

* ``banned``: decision ``block``; ``flagged``: decision ``flag`` (held and
  queued) or ``block``; ``art_false_flag_rate`` = flagged / images (goal:
  0 bans, < 0.005 flagged);
* ``before``: the same model scores decided as before image kinds
  (``ImageSafety(calibrated=False)``: photo thresholds for every image);
  ``after``: the shipped per-kind calibration;
* ``still_flagged``: the images the calibrated decision still flags, with
  their kind and scores; ``kinds``: how many images fell in each kind.

The result is merged into ``benchmarks/results/generalisation.json`` under
``moderation`` (read-modify-write: other benchmarks own other sections).

Run: ``.venv/bin/python benchmarks/generalisation_art.py [--quick]``
(``--quick``: every 8th image and 3 renders, not written to the JSON).
"""

from __future__ import annotations

import argparse
import io
import json
import struct
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from agora.config import ModerationSettings
from agora.moderation.base import Action
from agora.moderation.image import ImageSafety, ImageVerdict
from agora.moderation.score import assess

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SPRITES = DATA / "arcade-kenney-sprites"
CITY = DATA / "kenney-city-builder-glb"
OUT = Path(__file__).resolve().parent / "results" / "generalisation.json"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp"}
ACTIONS = {"safe": Action.APPROVE, "suggestive": Action.REVIEW, "explicit": Action.BLOCK}


def glb_images(path: Path) -> list[tuple[str, bytes]]:
    """Images a GLB embeds (buffer views) or references beside it (URIs)."""
    data = path.read_bytes()
    length = struct.unpack("<I", data[12:16])[0]
    doc = json.loads(data[20 : 20 + length])
    binary = b""
    if len(data) > 28 + length:
        binary_length = struct.unpack("<I", data[20 + length : 24 + length])[0]
        binary = data[28 + length : 28 + length + binary_length]
    views = doc.get("bufferViews") or []
    found = []
    for i, image in enumerate(doc.get("images") or []):
        if "bufferView" in image:
            view = views[image["bufferView"]]
            start = int(view.get("byteOffset", 0))
            found.append((f"{path.name}#image{i}", binary[start : start + view["byteLength"]]))
        elif "uri" in image and not image["uri"].startswith("data:"):
            beside = path.parent / image["uri"]
            if beside.is_file():
                found.append((str(beside.relative_to(DATA)), beside.read_bytes()))
    return found


def render_glb(path: Path, side: int = 512) -> bytes:
    """A flat-shaded isometric PNG render of a textured GLB (painter's algorithm)."""
    import trimesh
    from PIL import Image, ImageDraw

    scene = trimesh.load(path, force="scene")
    tris, colours = [], []
    light = np.array([0.4, 0.8, 0.45]) / np.linalg.norm([0.4, 0.8, 0.45])
    for name in scene.graph.nodes_geometry:
        transform, geometry_name = scene.graph[name]
        mesh = scene.geometry[geometry_name].copy()
        mesh.apply_transform(transform)
        base = np.full((len(mesh.faces), 3), 180.0)
        visual = mesh.visual
        texture = getattr(getattr(visual, "material", None), "baseColorTexture", None)
        uv = getattr(visual, "uv", None)
        if texture is not None and uv is not None:
            pixels = np.asarray(texture.convert("RGB"), dtype=np.float64)
            h, w = pixels.shape[:2]
            centre = uv[mesh.faces].mean(axis=1) % 1.0
            x = np.clip((centre[:, 0] * w).astype(int), 0, w - 1)
            y = np.clip(((1 - centre[:, 1]) * h).astype(int), 0, h - 1)
            base = pixels[y, x]
        shade = 0.45 + 0.55 * np.clip(mesh.face_normals @ light, 0, 1)
        tris.append(mesh.triangles)
        colours.append(base * shade[:, None])
    triangles = np.concatenate(tris)
    colour = np.concatenate(colours).clip(0, 255).astype(np.uint8)
    # Isometric view: rotate 45 degrees about y, then tilt ~35 degrees about x.
    a, b = np.radians(45), np.radians(35.264)
    rot_y = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rot_x = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    view = triangles @ (rot_x @ rot_y).T
    xy = view[..., :2]
    lo, hi = xy.reshape(-1, 2).min(0), xy.reshape(-1, 2).max(0)
    scale = 0.9 * side / max(hi - lo)
    xy = (xy - (lo + hi) / 2) * scale + side / 2
    image = Image.new("RGB", (side, side), (235, 238, 242))
    draw = ImageDraw.Draw(image)
    for i in np.argsort(view[..., 2].mean(axis=1)):  # far (-z) first
        points = [(float(px), float(side - py)) for px, py in xy[i]]
        draw.polygon(points, fill=tuple(int(c) for c in colour[i]))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def art_images(quick: bool) -> list[tuple[str, bytes]]:
    """(name, encoded bytes) of every art image; a texture many GLBs share counts once."""
    found: list[tuple[str, bytes]] = []
    for root in (SPRITES, CITY):
        for path in sorted(root.rglob("*")):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                found.append((str(path.relative_to(DATA)), path.read_bytes()))
    models = sorted((CITY / "models").glob("*.glb"))
    for model in models:
        found += glb_images(model)
    for model in models[:3] if quick else models:
        found.append((f"render:{model.name}", render_glb(model)))
    seen: set[str] = set()
    unique = []
    for name, data in found:
        if name not in seen:
            seen.add(name)
            unique.append((name, data))
    return unique[::8] if quick else unique


def decision(verdict: ImageVerdict, settings: ModerationSettings) -> str:
    return assess(None, [("art", verdict)], settings).decision


def run(quick: bool = False) -> dict[str, Any]:
    images = art_images(quick)
    safety, before_rule = ImageSafety(), ImageSafety(calibrated=False)
    settings = ModerationSettings()
    counts = {"before": Counter[str](), "after": Counter[str]()}
    kinds: Counter[str] = Counter()
    still: list[dict[str, Any]] = []
    before_flagged: list[str] = []
    t0 = time.perf_counter()
    for name, data in images:
        after = safety.analyze(data)
        assert after.profile is not None
        old = before_rule.category_for(after.nsfw_probability, after.detections, after.profile)
        before = replace(after, category=old, action=ACTIONS[old])
        kinds[after.profile.kind] += 1
        for label, verdict in (("before", before), ("after", after)):
            counts[label][decision(verdict, settings)] += 1
        if decision(before, settings) in ("flag", "block"):
            before_flagged.append(name)
        if decision(after, settings) in ("flag", "block"):
            still.append(
                {
                    "image": name,
                    "decision": decision(after, settings),
                    "nsfw": round(after.nsfw_probability, 4),
                    "detections": [
                        (d["class"], d["score"]) for d in after.detections if d["score"] >= 0.3
                    ],
                }
                | after.profile.to_dict()
            )
    seconds = time.perf_counter() - t0
    n = len(images)
    result: dict[str, Any] = {"art_images": n, "art_seconds": round(seconds, 1)}
    for label, c in counts.items():
        flagged = c["flag"] + c["block"]
        result[f"art_{label}"] = {
            "banned": c["block"],
            "flagged": flagged,
            "watch": c["watch"],
            "false_flag_rate": round(flagged / n, 5),
            "ban_rate": round(c["block"] / n, 5),
        }
    result["art_false_flag_rate"] = result["art_after"]["false_flag_rate"]
    result["art_ban_rate"] = result["art_after"]["ban_rate"]
    result["art_false_flag_rate_before"] = result["art_before"]["false_flag_rate"]
    result["art_kinds"] = dict(sorted(kinds.items()))
    result["art_still_flagged"] = still
    result["art_flagged_before"] = before_flagged
    result["art_goal_met"] = result["art_after"]["banned"] == 0 and (
        result["art_false_flag_rate"] < 0.005
    )
    return result


def merge(result: dict[str, Any], path: Path = OUT) -> None:
    """Write ``result`` into the ``moderation`` section, keeping everything else."""
    doc = json.loads(path.read_text()) if path.exists() else {}
    doc.setdefault("moderation", {}).update(result)
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    result = run(args.quick)
    if not args.quick:
        merge(result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
