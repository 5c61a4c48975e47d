"""Perceptual hashes over the 8 orientations of the dihedral group D4.

A thief flips or turns a sprite before re-uploading it; a plain pHash then
differs in about half its bits (imagededup issue #96, czkawka #1492). So the
query side hashes all 8 orientations (identity, three turns, two mirrors and
the two diagonal mirrors) while the index keeps only each image's identity
hash: a flipped or turned copy then meets its original at Hamming distance 0
(up to resampling), at the cost of 8 index probes instead of 8x the index.

pHash (a 32x32 DCT's low 8x8 band, imagehash) is used because, unlike aHash and
dHash, its bits are well balanced and survive JPEG, resizing and recolouring.

Example:
    >>> from PIL import Image
    >>> img = Image.linear_gradient("L").resize((64, 64)).rotate(30)
    >>> q = dihedral_hashes(img)
    >>> flipped = dihedral_hashes(img.transpose(Image.Transpose.FLIP_LEFT_RIGHT))[0]
    >>> int(min_distance(q, int(flipped))[0])
    0
"""

from __future__ import annotations

import imagehash
import numpy as np
from PIL import Image

# Orientation i of the query is ``ORIENTATIONS[i]`` applied to it; if the
# query's orientation i matches an indexed hash, the query is that transform
# of the indexed image (each of these is its own inverse except the turns,
# whose inverse is the opposite turn: the names say what the thief did).
ORIENTATIONS: tuple[tuple[str, Image.Transpose | None], ...] = (
    ("identity", None),
    ("rotate270", Image.Transpose.ROTATE_90),  # undoing a 270 degree turn
    ("rotate180", Image.Transpose.ROTATE_180),
    ("rotate90", Image.Transpose.ROTATE_270),
    ("flip_h", Image.Transpose.FLIP_LEFT_RIGHT),
    ("flip_v", Image.Transpose.FLIP_TOP_BOTTOM),
    ("transpose", Image.Transpose.TRANSPOSE),
    ("transverse", Image.Transpose.TRANSVERSE),
)
HASH_SIZE = 8  # 64-bit pHash
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def contrast_background(rgba: Image.Image) -> int:
    """Grey level (0 or 255) to flatten transparency onto: white for dark art, black
    for light art (a white icon on a transparent background would vanish on white).
    It depends only on the opaque pixels' mean, so a flipped, turned or cropped
    copy gets the same."""
    alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32)
    gray = np.asarray(rgba.convert("L"), dtype=np.float32)
    drawn = float((gray * alpha).sum() / max(float(alpha.sum()), 1.0))
    return 0 if drawn > 160 else 255


def as_gray(image: Image.Image) -> Image.Image:
    """Grey levels, transparency flattened onto ``contrast_background``."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        level = contrast_background(rgba)
        canvas = Image.new("RGBA", rgba.size, (level, level, level, 255))
        canvas.alpha_composite(rgba)
        return canvas.convert("L")
    return image.convert("L")


def phash(image: Image.Image) -> int:
    """64-bit pHash of one orientation as an unsigned int."""
    bits = imagehash.phash(image, hash_size=HASH_SIZE).hash.flatten()
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def dihedral_hashes(image: Image.Image) -> np.ndarray:
    """pHash of each of the 8 orientations, ``uint64[8]`` in ``ORIENTATIONS`` order.

    The image is reduced once to 64x64 grey first: pHash resamples to 32x32
    anyway, and turning a small thumbnail costs nothing."""
    small = as_gray(image).resize((64, 64), Image.Resampling.LANCZOS)
    out = [phash(small if op is None else small.transpose(op)) for _, op in ORIENTATIONS]
    return np.array(out, dtype=np.uint64)


def hamming(a: np.ndarray, b: int | np.integer | np.ndarray) -> np.ndarray:
    """Bit distance between uint64 hashes (broadcasting)."""
    x = np.bitwise_xor(np.asarray(a, dtype=np.uint64), np.asarray(b, dtype=np.uint64))
    as_bytes = x.reshape(*x.shape, 1).view(np.uint8)
    out: np.ndarray = _POPCOUNT[as_bytes].sum(axis=-1).astype(np.int64)
    return out


def min_distance(query: np.ndarray, indexed: int) -> tuple[int, str]:
    """Smallest distance between any orientation of ``query`` and ``indexed``,
    and the name of that orientation (what was done to the original)."""
    d = hamming(query, np.uint64(indexed))
    i = int(np.argmin(d))
    return int(d[i]), ORIENTATIONS[i][0]
