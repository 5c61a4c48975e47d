"""What kind of picture an image is: a photo, or stylised art (sprite, texture, render).

The two safety models (open_nsfw, NudeNet) were trained on photographs. On
small flat-coloured game art the body-part detector fires on round shapes
(a 56x56 barrel read as an exposed breast, D-pad buttons as covered
buttocks), so image safety calibrates its decision per kind
(``agora.moderation.image``). The kind comes from cheap pixel statistics,
computed on at most ``SAMPLE_SIDE`` x ``SAMPLE_SIDE`` pixels:

* ``transparent_share``: pixels with alpha below 250. A cut-out (at least
  ``CUTOUT_MIN`` transparent) is never a photo: cameras do not make alpha.
* ``colours``: distinct opaque RGB colours. Pixel art and flat UI art use a
  handful (``FEW_COLOURS``); a photo, even greyscale, uses hundreds or more.
* ``flat_share``: of horizontally adjacent opaque pairs, outside the most
  common colour (a studio backdrop or a fill would otherwise dominate), the
  share whose channels differ by at most 1. Flat fills make art >= 0.5;
  sensor noise and JPEG keep photos lower (the scikit-image photos: 0.01-0.46,
  on a white backdrop too). ``FLAT_MIN`` with at most ``FLAT_MAX_COLOURS``
  colours marks art: photos with flat areas still carry thousands.

Then, for stylised images: a cut-out is a ``sprite``; an opaque image whose
sides are both powers of two is a ``texture`` (tiles, UV atlases) unless its
whole border is one colour (``backdrop``: a render's background); a small
one (longer side <= ``SMALL_SIDE``) is a ``sprite``; a larger one is a
``render`` (screenshots, backgrounds, 3D renders). ``small`` is recorded for
every kind: the detector sees a small image upscaled to its 320 px input,
where its scores mean least.

Example:
    >>> from PIL import Image
    >>> profile_image(Image.new("RGBA", (56, 56), (200, 30, 30, 0))).kind
    'sprite'
    >>> import numpy as np
    >>> noise = np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    >>> profile_image(Image.fromarray(noise)).kind
    'photo'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from PIL.Image import Image

ImageKind = Literal["photo", "sprite", "texture", "render"]
IMAGE_KINDS: tuple[ImageKind, ...] = ("photo", "sprite", "texture", "render")

SAMPLE_SIDE = 256
OPAQUE_ALPHA = 250
CUTOUT_MIN = 0.05
FEW_COLOURS = 64
FLAT_MIN = 0.5
FLAT_MAX_COLOURS = 2048
SMALL_SIDE = 256


@dataclass(frozen=True)
class ImageProfile:
    """Pixel statistics of one image and the kind they imply."""

    kind: ImageKind
    width: int
    height: int
    transparent_share: float
    colours: int
    flat_share: float
    backdrop: bool = False

    @property
    def small(self) -> bool:
        """Longer side at most ``SMALL_SIDE``: the detector's scores are least reliable."""
        return max(self.width, self.height) <= SMALL_SIDE

    @property
    def stylised(self) -> bool:
        return self.kind != "photo"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "small": self.small,
            "transparent_share": round(self.transparent_share, 4),
            "colours": self.colours,
            "flat_share": round(self.flat_share, 4),
            "backdrop": self.backdrop,
        }


def profile_image(image: Image) -> ImageProfile:
    """Statistics and kind of a decoded image (any Pillow mode)."""
    width, height = image.size
    rgba = np.asarray(image.convert("RGBA"))
    # A strided sample bounds the cost on large images (<= 65,536 pixels).
    step = max(1, -(-max(width, height) // SAMPLE_SIDE))
    sample = rgba[::step, ::step]
    opaque = sample[..., 3] >= OPAQUE_ALPHA
    transparent = 1.0 - float(opaque.mean()) if opaque.size else 1.0
    rgb = sample[..., :3].astype(np.int32)
    keys = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    values, counts = np.unique(keys[opaque], return_counts=True)
    flat, backdrop = 0.0, False
    if len(values):
        mode = values[counts.argmax()]
        border = np.concatenate([keys[0], keys[-1], keys[:, 0], keys[:, -1]])
        border_opaque = np.concatenate([opaque[0], opaque[-1], opaque[:, 0], opaque[:, -1]])
        backdrop = bool(border_opaque.all() and (border == mode).all())
        content = opaque & (keys != mode)
        pairs = content[:, 1:] & content[:, :-1]
        step_size = np.abs(rgb[:, 1:] - rgb[:, :-1]).max(axis=-1)
        if pairs.any():
            flat = float(((step_size <= 1) & pairs).sum() / pairs.sum())
    kind = classify(width, height, transparent, len(values), flat, backdrop=backdrop)
    return ImageProfile(kind, width, height, transparent, len(values), flat, backdrop)


def classify(
    width: int,
    height: int,
    transparent_share: float,
    colours: int,
    flat_share: float,
    *,
    backdrop: bool = False,
) -> ImageKind:
    """The kind implied by the statistics (see the module docstring).

    >>> classify(512, 512, 0.0, 28892, 0.15)
    'photo'
    >>> classify(64, 64, 0.0, 42, 0.57), classify(1024, 600, 0.0, 160, 0.53)
    ('texture', 'render')
    >>> classify(512, 512, 0.0, 900, 0.9, backdrop=True)
    'render'
    """
    cutout = transparent_share >= CUTOUT_MIN
    stylised = (
        cutout or colours <= FEW_COLOURS or (flat_share >= FLAT_MIN and colours <= FLAT_MAX_COLOURS)
    )
    if not stylised:
        return "photo"
    if cutout:
        return "sprite"
    if _power_of_two(width) and _power_of_two(height) and not backdrop:
        return "texture"
    return "sprite" if max(width, height) <= SMALL_SIDE else "render"


def _power_of_two(n: int) -> bool:
    return n >= 8 and n & (n - 1) == 0
