"""Classical condition measures move the right way under each degradation; the model
learns strength from them."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from agora.vision.condition import ConditionModel
from agora.vision.degrade import DEGRADATIONS, TRAINING_TYPES, UNSEEN_TYPES, degrade, degraded_set
from agora.vision.measures import MEASURES, measure, measure_vector


def _photo(seed: int = 0, size: tuple[int, int] = (160, 120)) -> Image.Image:
    """A textured picture: smooth gradients plus sharp shapes (no test asset needed)."""
    from skimage import data

    base = Image.fromarray(data.astronaut()).resize(size)
    return base.rotate(seed * 7, fillcolor=(128, 128, 128))


def test_each_measure_reacts_to_its_damage() -> None:
    clean = _photo()
    m = measure(clean)
    assert measure(degrade(clean, "blur", 0.8))["laplacian_var"] < m["laplacian_var"] - 1.0
    assert measure(degrade(clean, "noise", 0.6))["noise_sigma"] > m["noise_sigma"] + 0.5
    assert measure(degrade(clean, "jpeg", 1.0))["blockiness"] > m["blockiness"] + 0.1
    dark = measure(degrade(clean, "exposure", 1.0, np.random.default_rng(1)))
    assert abs(dark["luma_mean"] - m["luma_mean"]) > 0.1
    assert measure_vector(clean).shape == (len(MEASURES),)


def test_degradations_are_typed_and_strength_zero_is_identity() -> None:
    clean = _photo()
    assert set(TRAINING_TYPES).isdisjoint(UNSEEN_TYPES)
    assert set(TRAINING_TYPES) | set(UNSEEN_TYPES) == set(DEGRADATIONS)
    for kind in DEGRADATIONS:
        assert degrade(clean, kind, 0.0) is clean
        assert degrade(clean, kind, 0.7).size == clean.size
    with pytest.raises(ValueError, match="unknown degradation"):
        degrade(clean, "scratches", 0.5)
    images, strengths, kinds, source = degraded_set([clean, _photo(1)], ("blur",), 3)
    assert len(images) == len(strengths) == len(kinds) == len(source) == 8
    assert kinds.count("clean") == 2 and strengths.max() <= 1.0


def test_classical_model_orders_unseen_pictures_by_damage() -> None:
    rng = np.random.default_rng(0)
    pictures = [_photo(i) for i in range(8)]
    images, strengths, _, _ = degraded_set(pictures[:6], TRAINING_TYPES, 3, seed=0)
    x = np.stack([measure_vector(im) for im in images]).astype(np.float64)
    model = ConditionModel(pca_dims=0, max_iter=150).fit(x, None, strengths)
    held = [degrade(pictures[7], "blur", s, rng) for s in (0.0, 0.3, 0.6, 1.0)]
    scores = model.score(np.stack([measure_vector(im) for im in held]).astype(np.float64), None)
    assert scores[0] > scores[-1] + 0.3
    assert model.feature_names == list(MEASURES)
