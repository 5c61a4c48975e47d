"""``train.condition`` through the gate into the model store, then served by
POST /api/v1/analyze-image as ``condition_score``; detections when a detector is set."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from agora.api.app import create_app
from agora.config import Settings
from agora.mlops.registry import ModelRegistry
from agora.mlops.tasks import TaskRegistry
from agora.runtime import Platform
from agora.testing.api import bearer
from agora.testing.onnx_detector import TINY_CLASSES, write_tiny_detector
from agora.vision.condition import CONDITION_MODEL, NO_MODEL_NOTE
from agora.vision.degrade import degrade

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_data = pytest.mark.skipif(
    not (DATA / "arcade-kenney-sprites").is_dir(), reason=f"needs {DATA}/arcade-kenney-sprites"
)


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, Platform, str]]:
    detector = write_tiny_detector(tmp_path / "det.onnx", input_size=64)
    platform = Platform.build(
        Settings.load(
            data_dir=tmp_path / "agora",
            vision={
                "detector_model": str(detector),
                "detector_classes": list(TINY_CLASSES),
                "detector_input_size": 64,
            },
        )
    )
    token = platform.keys.create(["read"]).token
    with TestClient(create_app(platform, start_background=False)) as c:
        yield c, platform, token
    platform.close()


@needs_data
def test_trained_condition_model_is_gated_and_served(
    served: tuple[TestClient, Platform, str],
) -> None:
    c, platform, token = served
    photo = Image.open(DATA / "imagededup-ukbench" / "base_images" / "ukbench00120.jpg")
    photo = photo.convert("RGB")
    r = c.post("/api/v1/analyze-image", headers=bearer(token), files={"image": _jpeg(photo)})
    body = r.json()
    assert r.status_code == 200, r.text
    assert body["condition_score"] is None and body["condition"]["note"] == NO_MODEL_NOTE
    assert set(body["condition"]["measures"]) >= {"laplacian_var", "noise_sigma", "blockiness"}
    # The operator's detector answers (the tiny test model: a person and a car).
    assert body["objects"]["configured"] is True
    assert [d["class"] for d in body["objects"]["detections"]] == ["person", "car"]
    assert body["item_category"]["method"].startswith("zero-shot")
    assert "no trained tag heads" in body["item_category"]["note"]

    task = TaskRegistry().resolve("train.condition")
    result = task(
        platform,
        data_dir=str(DATA),
        train_images=40,
        test_images=12,
        per_kind=1,
        other_sources=("ukbench",),
        other_limit=4,
        pca_dims=8,
    )
    assert result["decision"] == "champion"
    metrics = result["metrics"]
    assert {"spearman", "spearman.unseen.motion_blur", "spearman.other_source.ukbench"} <= set(
        metrics
    )
    assert metrics["spearman"] > 0.4  # a 40-image fit; the full benchmark measures the real figure
    dep = ModelRegistry(platform.models, platform.db).deployment(CONDITION_MODEL)
    assert dep.champion == result["version"]

    platform.moderation.condition.refresh_s = 0.0
    scores = {}
    for strength in (0.0, 1.0):
        damaged = degrade(photo, "blur", strength)
        r = c.post("/api/v1/analyze-image", headers=bearer(token), files={"image": _jpeg(damaged)})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["condition"]["model"] == f"{CONDITION_MODEL}@{result['version']}"
        scores[strength] = body["condition_score"]
    assert 0.0 <= scores[1.0] < scores[0.0] <= 1.0


def test_without_a_detector_the_answer_says_so(tmp_path: Path) -> None:
    platform = Platform.build(Settings.load(data_dir=tmp_path / "agora"))
    token = platform.keys.create(["read"]).token
    with TestClient(create_app(platform, start_background=False)) as c:
        r = c.post(
            "/api/v1/analyze-image",
            headers=bearer(token),
            params={"item_category": "false"},
            files={"image": _jpeg(Image.new("RGB", (64, 64), (90, 120, 200)))},
        )
    platform.close()
    assert r.status_code == 200, r.text
    objects = r.json()["objects"]
    assert objects["configured"] is False and objects["detections"] == []
    assert "no object detector configured" in objects["note"]
