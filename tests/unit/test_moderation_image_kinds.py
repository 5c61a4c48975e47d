"""Image safety per image kind: photos decided as before, stylised art needs agreement."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw
from skimage import data

from agora.moderation.image import (
    EXPLICIT_PARTS,
    KIND_THRESHOLDS,
    PHOTO_THRESHOLDS,
    SUGGESTIVE_PARTS,
    ImageSafety,
    decide,
)
from agora.moderation.image_kind import profile_image


def _before_kinds(nsfw: float, detections: list[dict[str, Any]]) -> str:
    """The rule every image got before kinds (the photo rule), written out again.

    One fix is included: the strongest detection of a class counts (before, the last did).
    """
    parts: dict[str, float] = {}
    for d in detections:
        parts[d["class"]] = max(parts.get(d["class"], 0.0), d["score"])
    if nsfw >= 0.85 or any(parts.get(p, 0.0) >= 0.5 for p in EXPLICIT_PARTS):
        return "explicit"
    if nsfw >= 0.4 or any(parts.get(p, 0.0) >= 0.45 for p in SUGGESTIVE_PARTS):
        return "suggestive"
    return "safe"


def _det(cls: str, score: float) -> dict[str, Any]:
    return {"class": cls, "score": score, "box": [0, 0, 10, 10]}


SCORES = [0.0, 0.2, 0.39, 0.4, 0.44, 0.45, 0.5, 0.7, 0.84, 0.85, 0.95]
CLASSES = ["FEMALE_BREAST_EXPOSED", "BUTTOCKS_EXPOSED", "BUTTOCKS_COVERED", "FACE_FEMALE"]


def test_photo_thresholds_are_the_ones_before_kinds() -> None:
    assert KIND_THRESHOLDS["photo"] is PHOTO_THRESHOLDS
    t = PHOTO_THRESHOLDS
    assert (t.explicit_nsfw_min, t.suggestive_nsfw_min) == (0.85, 0.4)
    assert (t.explicit_part_min, t.suggestive_part_min) == (0.5, 0.45)
    grid = itertools.product(SCORES, [None, *CLASSES], SCORES)
    for nsfw, cls, score in grid:
        detections = [] if cls is None else [_det(cls, score)]
        expected = _before_kinds(nsfw, detections)
        assert decide(nsfw, detections, t, small=False) == expected, (nsfw, cls, score)


@pytest.mark.parametrize("kind", ["sprite", "texture", "render"])
def test_stylised_art_is_blocked_only_when_both_models_agree(kind: str) -> None:
    t = KIND_THRESHOLDS[kind]  # type: ignore[index]
    breast = _det("FEMALE_BREAST_EXPOSED", 0.52)  # the red barrel of issue 20
    assert decide(0.01, [breast], t, small=False) == "safe"
    assert decide(0.01, [_det("BUTTOCKS_COVERED", 0.89)], t, small=False) == "safe"
    assert decide(0.01, [_det("BUTTOCKS_EXPOSED", 0.56)], t, small=False) == "safe"
    # The classifier corroborates the detector: a human looks.
    assert decide(0.3, [breast], t, small=False) == "suggestive"
    assert decide(0.3, [_det("BUTTOCKS_COVERED", 0.5)], t, small=False) == "suggestive"
    # The classifier alone: review at the photo cut-off, never a block.
    assert decide(0.45, [], t, small=False) == "suggestive"
    assert decide(0.99, [], t, small=False) == "suggestive"
    assert decide(0.99, [_det("FEMALE_BREAST_EXPOSED", 0.49)], t, small=False) == "suggestive"
    # Both at their ban cut-offs.
    assert decide(0.9, [_det("FEMALE_GENITALIA_EXPOSED", 0.6)], t, small=False) == "explicit"
    assert decide(0.9, [breast], t, small=True) == "explicit"


def test_a_near_certain_lone_detection_reviews_sprites_and_renders_not_textures() -> None:
    sure = [_det("ANUS_EXPOSED", 0.95)]
    assert decide(0.01, sure, KIND_THRESHOLDS["sprite"], small=True) == "suggestive"
    assert decide(0.01, sure, KIND_THRESHOLDS["render"], small=False) == "suggestive"
    assert decide(0.01, sure, KIND_THRESHOLDS["texture"], small=False) == "safe"


def test_small_photos_are_never_blocked_on_one_score() -> None:
    t = PHOTO_THRESHOLDS
    assert decide(0.95, [], t, small=True) == "suggestive"
    assert decide(0.01, [_det("FEMALE_BREAST_EXPOSED", 0.7)], t, small=True) == "suggestive"
    assert decide(0.01, [_det("BUTTOCKS_COVERED", 0.5)], t, small=True) == "suggestive"
    assert decide(0.95, [_det("FEMALE_BREAST_EXPOSED", 0.7)], t, small=True) == "explicit"
    assert decide(0.1, [], t, small=True) == "safe"


def test_the_strongest_detection_of_a_class_counts() -> None:
    both = [_det("FEMALE_BREAST_EXPOSED", 0.6), _det("FEMALE_BREAST_EXPOSED", 0.3)]
    assert decide(0.0, both, PHOTO_THRESHOLDS, small=False) == "explicit"


def _photo(name: str, backdrop: bool = False) -> Image.Image:
    import io

    image = Image.fromarray(getattr(data, name)()).convert("RGB")
    if backdrop:  # a studio shot: the subject on a wide white backdrop
        canvas = Image.new("RGB", (image.width * 2, image.height * 2), (255, 255, 255))
        canvas.paste(image, (image.width // 2, image.height // 2))
        image = canvas
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return Image.open(io.BytesIO(out.getvalue()))


@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee", "rocket", "camera"])
def test_photos_are_photos(name: str) -> None:
    assert profile_image(_photo(name)).kind == "photo"
    assert profile_image(_photo(name, backdrop=True)).kind == "photo"
    small = _photo(name).resize((56, 56))
    profile = profile_image(small)
    assert profile.kind == "photo" and profile.small


def _barrel(side: int = 56) -> Image.Image:
    """A flat-shaded red barrel on a transparent background, like a Kenney sprite."""
    image = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((4, 4, side - 4, side - 4), fill=(200, 40, 40, 255), outline=(90, 20, 20, 255))
    draw.ellipse((16, 16, side - 16, side - 16), fill=(230, 80, 70, 255))
    return image


def test_sprites_textures_and_renders() -> None:
    sprite = profile_image(_barrel())
    assert sprite.kind == "sprite" and sprite.small and sprite.transparent_share > 0.1
    tile = Image.new("RGB", (64, 64), (120, 180, 80))
    ImageDraw.Draw(tile).rectangle((20, 0, 44, 63), fill=(150, 150, 150))
    assert profile_image(tile).kind == "texture"
    scene = Image.new("RGB", (1024, 600), (235, 238, 242))
    draw = ImageDraw.Draw(scene)
    for i in range(12):  # flat-shaded blocks: a low-poly render
        shade = 60 + 15 * i
        draw.polygon([(80 * i, 500), (80 * i + 60, 300), (80 * i + 120, 500)], fill=(shade, 90, 60))
    assert profile_image(scene).kind == "render"
    # A power-of-two render on a plain background is a render, not a texture.
    square = Image.new("RGB", (512, 512), (235, 238, 242))
    square_draw = ImageDraw.Draw(square)
    for i in range(6):
        shade = 60 + 25 * i
        square_draw.polygon(
            [(100 + 50 * i, 400), (150 + 50 * i, 150), (200 + 50 * i, 400)], fill=(shade, 90, 60)
        )
    assert profile_image(square).backdrop and profile_image(square).kind == "render"
    # Noise is as far from flat art as a picture gets.
    noise = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    assert profile_image(Image.fromarray(noise)).kind == "photo"


def test_safety_decides_by_the_profile_and_can_be_uncalibrated() -> None:
    sprite, photo = profile_image(_barrel()), profile_image(_photo("astronaut"))
    barrel = [_det("FEMALE_BREAST_EXPOSED", 0.52)]
    assert ImageSafety().category_for(0.01, barrel, sprite) == "safe"
    assert ImageSafety().category_for(0.01, barrel, photo) == "explicit"
    assert ImageSafety(calibrated=False).category_for(0.01, barrel, sprite) == "explicit"
