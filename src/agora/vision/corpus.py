"""The shared images the condition model learns and is tested on, by source.

* ``sprites``: ``arcade-kenney-sprites`` (Kenney's CC0 game art, 700-odd PNG/JPG)
  and the PNG sprites and textures beside ``kenney-city-builder-glb``'s models;
* ``ukbench``: ``imagededup-ukbench``'s base photos (UKBench, ten camera photos);
* ``face_photos``: ``face-pairs``' web photos of faces (test use only, see SOURCES.md).

Images are read once, laid on white when transparent (as the image encoder
sees them) and reduced to at most ``MAX_SIDE`` pixels on the longer side.

Example:
    >>> sorted(SOURCES)
    ['face_photos', 'sprites', 'ukbench']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

SUFFIXES = {".png", ".jpg", ".jpeg"}
MAX_SIDE = 512
SOURCES: dict[str, tuple[str, ...]] = {
    "sprites": ("arcade-kenney-sprites", "kenney-city-builder-glb"),
    "ukbench": ("imagededup-ukbench/base_images",),
    "face_photos": ("face-pairs/images",),
}


def source_paths(data_dir: Path, source: str) -> list[Path]:
    """Image files of one source under ``data_dir`` (sorted; missing folders give none)."""
    found: list[Path] = []
    for folder in SOURCES[source]:
        root = Path(data_dir) / folder
        if root.is_dir():
            found += [p for p in root.rglob("*") if p.suffix.lower() in SUFFIXES]
    return sorted(found)


def load_image(path: Path, max_side: int = MAX_SIDE) -> Image.Image | None:
    """RGB on white, reduced to ``max_side``; None for a file Pillow cannot decode or a tiny one."""
    from agora.encoders.image import to_rgb

    try:
        with Image.open(path) as im:
            im.load()
            rgb = to_rgb(im)
    except (OSError, ValueError, SyntaxError):
        return None
    if min(rgb.size) < 24:
        return None
    if max(rgb.size) > max_side:
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return rgb


def load_source(
    data_dir: Path, source: str, limit: int | None = None, seed: int = 0
) -> list[Image.Image]:
    """Up to ``limit`` decodable images of ``source``, a seeded sample across its folders."""
    paths = source_paths(data_dir, source)
    order = np.random.default_rng(seed).permutation(len(paths))
    images: list[Image.Image] = []
    for i in order:
        im = load_image(paths[int(i)])
        if im is not None:
            images.append(im)
            if limit is not None and len(images) >= limit:
                break
    return images
