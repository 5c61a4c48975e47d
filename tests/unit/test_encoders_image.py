"""EfficientNet-Lite0 on onnxruntime: real photos into their ImageNet classes.

The conversion from the packaged torch weights is tested against torch itself
in ``test_lite0_onnx.py``.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image
from skimage import data

from agora.encoders import ImageEncoder, ServedImageEncoder
from agora.encoders.image import EfficientNetLite0Encoder, preprocess
from agora.encoders.imagenet import class_names, wordnet_names


@pytest.fixture(scope="module")
def encoder() -> EfficientNetLite0Encoder:
    return EfficientNetLite0Encoder()


def photo(name: str) -> Image.Image:
    if name == "motorcycle":
        return Image.fromarray(data.stereo_motorcycle()[0])
    return Image.fromarray(getattr(data, name)())


# Expected ILSVRC-2012 indices; a wrong label order or a broken layer fails here.
PHOTOS = {
    "chelsea": {281, 282, 283, 284, 285},  # tabby / tiger / Persian / Siamese / Egyptian cat
    "coffee": {967, 968},  # espresso, cup
    "motorcycle": {665, 670},  # moped, motor scooter
    "rocket": {657, 812, 744},  # missile, space shuttle, projectile
}


def test_real_photos_land_in_their_imagenet_classes(encoder: EfficientNetLite0Encoder) -> None:
    names = list(PHOTOS)
    out = encoder.encode_images([photo(n) for n in names])
    assert out.features.shape == (4, 1280) and out.class_probs.shape == (4, 1000)
    assert np.allclose(np.linalg.norm(out.features, axis=1), 1.0, atol=1e-5)
    assert np.allclose(out.class_probs.sum(axis=1), 1.0, atol=1e-4)
    for row, name in enumerate(names):
        top = int(out.class_probs[row].argmax())
        assert top in PHOTOS[name], (name, class_names()[top])
        assert out.class_probs[row, sorted(PHOTOS[name])].sum() > 0.5, name
    assert "cat" in wordnet_names()[int(out.class_probs[0].argmax())]


def test_odd_modes_and_sizes_are_handled(encoder: EfficientNetLite0Encoder) -> None:
    rgba = Image.new("RGBA", (40, 300), (255, 0, 0, 0))
    gray = Image.fromarray(data.camera())
    palette = photo("coffee").convert("P")
    tiny = Image.new("RGB", (1, 1), (10, 20, 30))
    big = photo("chelsea").resize((3000, 2000))
    out = encoder.encode_images([rgba, gray, palette, tiny, big])
    assert np.isfinite(out.features).all() and out.features.shape == (5, 1280)
    # A fully transparent sprite is composited on white, not on black.
    assert np.allclose(preprocess(rgba)[:, 100, 20], (1.0 - 0.498) / 0.502, atol=1e-3)
    assert int(out.class_probs[4].argmax()) in PHOTOS["chelsea"]


def test_jpeg_round_trip_keeps_the_class(encoder: EfficientNetLite0Encoder) -> None:
    buf = io.BytesIO()
    photo("coffee").save(buf, format="JPEG", quality=80)
    buf.seek(0)
    out = encoder.encode_images([Image.open(buf)])
    assert int(out.class_probs[0].argmax()) in PHOTOS["coffee"]


def test_served_encoder_batches_concurrent_callers(encoder: EfficientNetLite0Encoder) -> None:
    served = ServedImageEncoder(encoder, max_batch=8, max_wait_ms=20)
    assert isinstance(served, ImageEncoder)
    images = [photo("chelsea"), photo("coffee"), photo("rocket")] * 2
    direct = encoder.encode_images(images)
    with ThreadPoolExecutor(6) as pool:
        rows = list(pool.map(lambda im: served.encode_images([im]), images))
    feats = np.concatenate([r.features for r in rows])
    probs = np.concatenate([r.class_probs for r in rows])
    assert np.allclose(feats, direct.features, atol=1e-4)
    assert np.allclose(probs, direct.class_probs, atol=1e-4)
    served.close()
