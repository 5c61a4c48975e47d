"""Image conversion (webp, avif, png) under a size limit, and thumbnails.

A size limit is met the way imgproxy and thumbor meet theirs: lossy formats
step their quality down first, then the image is scaled down by 0.8 per round
until the encoded bytes fit; png is lossless, so only scaling helps it.

Example:
    >>> from PIL import Image
    >>> out = encode_image(Image.new("RGB", (64, 64), "red"), "webp", max_bytes=2_000)
    >>> out.media_type, out.size[0] <= 64, len(out.data) <= 2_000
    ('image/webp', True, True)
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageOps, features

from agora.errors import InvalidInput

ImageFormat = Literal["webp", "avif", "png"]
MEDIA_TYPES = {"webp": "image/webp", "avif": "image/avif", "png": "image/png"}
QUALITY_STEPS = (90, 80, 70, 55, 40)
SCALE_STEP = 0.8
MIN_SIDE = 16


@dataclass(frozen=True)
class EncodedImage:
    """Encoded bytes and what was chosen to fit the limit."""

    data: bytes
    media_type: str
    size: tuple[int, int]
    quality: int | None  # None for lossless png


def image_formats() -> tuple[str, ...]:
    """Output formats this Pillow build can write (avif needs libavif)."""
    return tuple(f for f in ("webp", "avif", "png") if f == "png" or features.check(f))


def _encode(image: Image.Image, fmt: str, quality: int | None) -> bytes:
    buffer = io.BytesIO()
    if fmt == "png":
        image.save(buffer, format="PNG", optimize=True)
    elif fmt == "webp":
        image.save(buffer, format="WEBP", quality=quality, method=4)
    else:
        image.save(buffer, format="AVIF", quality=quality, speed=8)
    return buffer.getvalue()


def encode_image(
    image: Image.Image,
    fmt: ImageFormat,
    *,
    max_bytes: int | None = None,
    max_side: int | None = None,
) -> EncodedImage:
    """``image`` encoded as ``fmt``, at most ``max_side`` px on its longer side
    and ``max_bytes`` long; ``InvalidInput`` when even a 16 px version is larger."""
    if fmt not in image_formats():
        raise InvalidInput(
            f"cannot write {fmt!r}; this machine writes {', '.join(image_formats())}"
        )
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    if max_side is not None and max(image.size) > max_side:
        image = ImageOps.contain(image, (max_side, max_side), Image.Resampling.LANCZOS)
    qualities: tuple[int | None, ...] = (None,) if fmt == "png" else QUALITY_STEPS
    current = image
    while True:
        for quality in qualities:
            data = _encode(current, fmt, quality)
            if max_bytes is None or len(data) <= max_bytes:
                return EncodedImage(data, MEDIA_TYPES[fmt], current.size, quality)
        w, h = current.size
        if min(w, h) * SCALE_STEP < MIN_SIDE:
            raise InvalidInput(f"cannot fit the image in {max_bytes} bytes as {fmt}")
        size = (max(1, round(w * SCALE_STEP)), max(1, round(h * SCALE_STEP)))
        current = image.resize(size, Image.Resampling.LANCZOS)


def thumbnail(image: Image.Image, side: int, fmt: ImageFormat = "webp") -> EncodedImage:
    """A ``side`` x ``side`` thumbnail: the whole image fitted and centred on a
    transparent (webp/avif/png all keep alpha) square."""
    if side < MIN_SIDE or side > 4096:
        raise InvalidInput(f"thumbnail side must be in [{MIN_SIDE}, 4096], got {side}")
    image = ImageOps.exif_transpose(image).convert("RGBA")
    fitted = ImageOps.contain(image, (side, side), Image.Resampling.LANCZOS)
    canvas = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    canvas.paste(fitted, ((side - fitted.width) // 2, (side - fitted.height) // 2))
    return encode_image(canvas, fmt)
