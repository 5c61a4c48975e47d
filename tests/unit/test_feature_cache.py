"""The shared feature cache: a text or picture is encoded once per model version."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from agora.encoders.base import EncoderInfo, ImageEncoding
from agora.encoders.cache import FeatureCache, cached_rows, content_key, image_key
from agora.encoders.factory import Encoders, ServedImageEncoder, ServedTextEncoder
from agora.search.indexer import passage_text


class CountingText:
    """Wraps a real text model and counts the texts it is asked to encode."""

    def __init__(self, model: ServedTextEncoder) -> None:
        self.model = model.model
        self.info = model.info
        self.encoded: list[str] = []

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded += texts
        return np.asarray(self.model.encode_queries(texts))

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded += texts
        return np.asarray(self.model.encode_passages(texts))


def test_unchanged_text_on_an_update_is_not_re_encoded() -> None:
    encoders = Encoders()
    try:
        counting = CountingText(encoders.text("minilm"))
        served = ServedTextEncoder(counting)
        asset = {"id": "a1", "title": "Desert tank", "description": "Low-poly.", "tags": ["war"]}
        first = served.encode_passages([passage_text(asset)])
        # An update that changes the price (not the text) indexes the same passage again.
        updated = asset | {"price": 4.99}
        again = served.encode_passages([passage_text(updated), "A different listing"])
        assert counting.encoded == [passage_text(asset), "A different listing"]
        assert np.array_equal(first[0], again[0])
        assert served.features.hits == 1
        # A batch with the same text twice encodes it once.
        served.encode_passages(["twice", "twice"])
        assert counting.encoded[-1:] == ["twice"]
        served.close()
    finally:
        encoders.close()


class FakeImageModel:
    """Deterministic stand-in used only to count calls (the key logic under test)."""

    info = EncoderInfo(name="count", version="1", dim=2, modality="image")

    def __init__(self) -> None:
        self.calls = 0

    def encode_images(self, images: Sequence[Image.Image]) -> ImageEncoding:
        self.calls += 1
        feats = np.array([[im.size[0], im.size[1]] for im in images], dtype=np.float32)
        return ImageEncoding(features=feats, class_probs=np.ones((len(images), 3), np.float32))


def test_the_same_pixels_are_encoded_once() -> None:
    model = FakeImageModel()
    served = ServedImageEncoder(model)
    red = Image.new("RGB", (5, 3), (255, 0, 0))
    a = served.encode_images([red, red.copy()])
    b = served.encode_images([red])
    assert model.calls == 1 and a.features.shape == (2, 2) and a.class_probs.shape == (2, 3)
    assert np.array_equal(a.features[0], b.features[0])
    assert image_key(red) == image_key(red.copy()) != image_key(red.resize((3, 5)))
    served.close()


def test_cached_rows_keys_by_encoder_version() -> None:
    cache = FeatureCache(10)
    calls: list[list[int]] = []

    def encode(idx: list[int]) -> np.ndarray:
        calls.append(idx)
        return np.ones((len(idx), 4), np.float32)

    keys = [content_key("x"), content_key("y")]
    cached_rows(cache, "m@1", keys, encode)
    cached_rows(cache, "m@1", keys, encode)
    cached_rows(cache, "m@2", keys[:1], encode)  # a new model version never reads old rows
    assert calls == [[0, 1], [0]]
    assert cached_rows(cache, "m@1", [], encode, 4).shape == (0, 4)
