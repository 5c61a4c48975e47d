"""POST /api/v1/analyze-image on real photos: safety, item category, condition."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from agora.api.app import create_app
from agora.config import Settings
from agora.encoders import Encoders
from agora.moderation.category import ItemCategorizer, block_category
from agora.runtime import Platform
from agora.testing.api import bearer
from agora.vision.condition import NO_MODEL_NOTE


def _jpeg(name: str) -> bytes:
    from PIL import Image
    from skimage import data

    out = io.BytesIO()
    Image.fromarray(getattr(data, name)()).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, Platform, str]]:
    platform = Platform.build(Settings.load(data_dir=tmp_path / "agora"))
    token = platform.keys.create(["read"]).token
    with TestClient(create_app(platform, start_background=False)) as c:
        yield c, platform, token
    platform.close()


def test_real_photos_get_an_item_category_and_no_condition_without_a_model(
    client: tuple[TestClient, Platform, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    c, platform, token = client
    expected = {"coffee": ("food_and_drink", "espresso"), "chelsea": ("animals", None)}
    for name, (label, top_class) in expected.items():
        r = c.post("/api/v1/analyze-image", headers=bearer(token), files={"image": _jpeg(name)})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["category"] == "safe"  # the safety class is unchanged
        item = body["item_category"]
        assert item["label"] == label and item["confidence"] >= 0.5
        assert item["models"][0].startswith("effnet-lite0@")
        assert item["models"][1].startswith("minilm@")
        if top_class:
            assert item["imagenet_top"][0]["class"] == top_class
        # No condition model trained in this store: the measures, no score, and why.
        assert body["condition"]["available"] is False and body["condition_score"] is None
        assert body["condition"]["note"] == NO_MODEL_NOTE
    r = c.post(
        "/api/v1/analyze-image",
        headers=bearer(token),
        params={"item_category": "false"},
        files={"image": _jpeg("coffee")},
    )
    assert r.json()["item_category"]["label"] is None

    # A failing category never fails the safety verdict.
    def broken(*args: object) -> None:
        raise RuntimeError("encoder gone")

    monkeypatch.setattr(platform.moderation.categorizer, "from_probs", broken)
    r = c.post("/api/v1/analyze-image", headers=bearer(token), files={"image": _jpeg("coffee")})
    assert r.status_code == 200 and r.json()["category"] == "safe"
    assert "encoder gone" in r.json()["item_category"]["note"]


def test_category_from_probabilities() -> None:
    assert block_category(0) == "animals" and block_category(397) == "animals"
    assert block_category(950) == "food_and_drink" and block_category(975) is not None
    assert block_category(398) is None
    probs = np.zeros(1000)
    probs[[281, 285, 967]] = [0.3, 0.3, 0.2]  # two cats, one espresso
    found = ItemCategorizer(Encoders()).from_probs(probs, "effnet@test")
    assert found.label == "animals" and found.confidence == pytest.approx(0.6)
    assert found.scores["food_and_drink"] == pytest.approx(0.2)
    flat = np.full(1000, 1e-3)  # no class stands out: no category
    flat[[10, 930]] = [0.1, 0.1]
    assert ItemCategorizer(Encoders()).from_probs(flat, "effnet@test").label == "unknown"
