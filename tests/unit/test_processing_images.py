"""Image conversion under size limits, thumbnails and 3D previews."""

from __future__ import annotations

import io

import numpy as np
import pytest
import trimesh
from PIL import Image

from agora.errors import InvalidInput
from agora.processing.images import encode_image, image_formats, thumbnail
from agora.processing.render import render_preview, render_turntable


def _noise(side: int) -> Image.Image:
    rng = np.random.default_rng(1)
    return Image.fromarray(rng.integers(0, 255, (side, side, 3), dtype=np.uint8))


@pytest.mark.parametrize("fmt", ["webp", "png", "avif"])
def test_encoding_meets_the_byte_limit(fmt: str) -> None:
    if fmt not in image_formats():
        pytest.skip(f"this Pillow cannot write {fmt}")
    image = _noise(256)
    out = encode_image(image, fmt, max_bytes=20_000)  # type: ignore[arg-type]
    assert len(out.data) <= 20_000 and out.media_type == f"image/{fmt}"
    decoded = Image.open(io.BytesIO(out.data))
    assert decoded.size == out.size and max(out.size) <= 256


def test_an_impossible_limit_is_refused() -> None:
    with pytest.raises(InvalidInput):
        encode_image(_noise(64), "png", max_bytes=10)


def test_thumbnails_are_square_and_keep_transparency() -> None:
    wide = Image.new("RGBA", (300, 100), (255, 0, 0, 255))
    out = thumbnail(wide, 64, "png")
    img = Image.open(io.BytesIO(out.data))
    assert img.size == (64, 64) and img.getpixel((0, 0))[3] == 0  # letterboxed
    assert img.getpixel((32, 32))[:3] == (255, 0, 0)


def test_a_model_preview_draws_the_model_and_a_turntable_animates() -> None:
    box = trimesh.creation.box()
    preview = render_preview(box, side=64)
    alpha = np.asarray(preview.getchannel("A"))
    assert 0.1 < (alpha > 0).mean() < 0.9  # the box, on a transparent background
    webp = Image.open(io.BytesIO(render_turntable(box, side=32, frames=4)))
    assert getattr(webp, "n_frames", 1) == 4
