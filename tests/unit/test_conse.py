"""ConSE bridge: images land in the text space near the words that name them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from agora.encoders import ConseEncoder, ImageEncoding
from agora.encoders.conse import ClassNameTable
from agora.encoders.image import EfficientNetLite0Encoder
from agora.encoders.text import E5Encoder, MiniLMEncoder

SPORTS_CAR = 817
CONVERTIBLE = 511


@pytest.fixture(scope="module")
def image() -> EfficientNetLite0Encoder:
    return EfficientNetLite0Encoder()


@pytest.fixture(scope="module")
def minilm() -> MiniLMEncoder:
    return MiniLMEncoder()


def car_probs() -> np.ndarray:
    """What the classifier says about a car photo: mostly sports car and convertible."""
    p = np.full((1, 1000), 0.1 / 998, dtype=np.float32)
    p[0, SPORTS_CAR], p[0, CONVERTIBLE] = 0.6, 0.3
    return p


def test_key_records_the_recipe_and_binds_to_the_text_space(image, minilm) -> None:
    bridge = ConseEncoder(image, minilm, top_t=5)
    assert bridge.info.dim == 384
    assert bridge.info.index_key == minilm.info.key
    assert image.info.key in bridge.info.key and minilm.info.key in bridge.info.key
    assert "top5" in bridge.info.key
    with pytest.raises(ValueError):
        ConseEncoder(image, minilm, top_t=0)


def test_car_lands_near_car_and_cat_photo_near_cat(image, minilm, tmp_path: Path) -> None:
    bridge = ConseEncoder(image, minilm, cache_dir=tmp_path)
    car = bridge.from_probs(car_probs())[0]
    cat = bridge.encode_images([Image.fromarray(data.chelsea())])
    assert isinstance(cat, ImageEncoding)
    assert np.isclose(np.linalg.norm(car), 1.0, atol=1e-5)
    q = minilm.encode_queries(["car", "cat"])
    assert float(car @ q[0]) > float(car @ q[1])
    assert float(cat.features[0] @ q[1]) > float(cat.features[0] @ q[0])


def test_convex_combination_follows_the_formula(image, minilm) -> None:
    bridge = ConseEncoder(image, minilm, top_t=2)
    got = bridge.from_probs(car_probs())[0]
    names = bridge.names.rows(np.array([SPORTS_CAR, CONVERTIBLE]))
    expected = (0.6 * names[0] + 0.3 * names[1]) / 0.9
    expected /= np.linalg.norm(expected)
    assert np.allclose(got, expected, atol=1e-5)
    with pytest.raises(ValueError):
        bridge.from_probs(np.ones((1, 10)))


class Counting:
    def __init__(self, inner: MiniLMEncoder) -> None:
        self.inner, self.info, self.calls = inner, inner.info, 0

    def encode_queries(self, texts):  # pragma: no cover - not used by the table
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts):
        self.calls += len(texts)
        return self.inner.encode_passages(texts)


def test_class_names_are_embedded_once_and_cached_on_disk(minilm, tmp_path: Path) -> None:
    first = Counting(minilm)
    table = ClassNameTable(first, tmp_path)
    table.rows(np.arange(70))  # over SAVE_EVERY: written to disk
    table.rows(np.arange(10))
    assert first.calls == 70
    second = Counting(minilm)
    reloaded = ClassNameTable(second, tmp_path)
    assert reloaded.computed == 70
    assert np.allclose(reloaded.rows(np.arange(70)), table.rows(np.arange(70)))
    assert second.calls == 0
    # A corrupt cache file is ignored, not trusted.
    for f in tmp_path.iterdir():
        f.write_bytes(b"garbage")
    assert ClassNameTable(Counting(minilm), tmp_path).computed == 0


def test_multilingual_profile_finds_images_with_german_queries(image) -> None:
    e5 = E5Encoder()
    bridge = ConseEncoder(image, e5, top_t=3)  # tiny: e5 costs ~20 ms per class name
    car = bridge.from_probs(car_probs())[0]
    cat = bridge.encode_images([Image.fromarray(data.chelsea())]).features[0]
    q = e5.encode_queries(["rotes Auto", "Katze"])
    assert float(car @ q[0]) > float(car @ q[1])
    assert float(cat @ q[1]) > float(cat @ q[0])
