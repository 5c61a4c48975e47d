"""Quality and risk scores: every signal is a line of the breakdown with its reason,
absent steps are named, and the anomaly model is trained through the gate."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFilter

from agora.config import Settings
from agora.domain import AssetStatus
from agora.errors import InvalidInput
from agora.mlops.training.pipeline import TrainingServices
from agora.quality.risk import (
    PROPERTIES,
    AnomalyModel,
    SellerContext,
    Signal,
    measure_image,
    quality_score,
    risk_score,
)
from agora.quality.risk.training import train_anomaly
from agora.runtime import Platform
from agora.storage.tables import AssetRow, ProcessingResultRow

WEIGHTS = Settings().scores
ABSENT = Signal("anomaly", None, "absent: no model")
CLEAN_SCAN = {"verdict": "clean", "detections": []}


def _lines(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {line["signal"]: line for line in out["breakdown"]}


def test_every_signal_is_a_line_and_absent_steps_are_named() -> None:
    results = {
        "integrity": {"ok": True, "checked": 3, "corrupt": 0},
        "completeness": {"score": 0.8, "missing": ["price"]},
        "scan": CLEAN_SCAN,
    }
    quality = quality_score(results, [], WEIGHTS.quality_weights)
    risk = risk_score(results, None, ABSENT, WEIGHTS.risk_weights)
    assert set(_lines(quality)) == {"integrity", "completeness", "images", "models3d", "duplicates"}
    assert quality["absent"] == ["images", "models3d", "duplicates"]
    # Weighted mean of the present signals only: (0.25 * 1 + 0.25 * 0.8) / 0.5.
    assert quality["score"] == pytest.approx(0.9)
    assert "price" in _lines(quality)["completeness"]["reason"]
    assert risk["score"] == 0.0
    assert set(risk["absent"]) == {
        "duplicates",
        "moderation",
        "models3d",
        "seller_trust",
        "seller_history",
        "anomaly",
    }
    assert all(line["reason"] for line in risk["breakdown"])


def test_risk_rises_with_each_kind_of_bad_upload() -> None:
    w = WEIGHTS.risk_weights
    clean = risk_score({"scan": CLEAN_SCAN}, None, ABSENT, w)["score"]
    infected = {"verdict": "infected", "detections": [{"signature": "Eicar-Test"}]}
    stolen = {
        "exact": [],
        "of_other_seller": True,
        "own_version_of": None,
        "held": True,
        "near": [
            {
                "asset_id": "o1",
                "seller_id": "s9",
                "distance": 0,
                "similarity": 0.97,
                "verified": True,
                "kind": "image",
            }
        ],
    }
    own = {"exact": [], "near": [], "of_other_seller": False, "own_version_of": "a0", "held": False}
    broken = {"verdict": "fail", "defects": [{"code": "not_watertight", "message": "holes"}]}
    cases = {
        "malware": risk_score({"scan": infected}, None, ABSENT, w),
        "stolen": risk_score({"scan": CLEAN_SCAN, "duplicates": stolen}, None, ABSENT, w),
        "broken": risk_score({"scan": CLEAN_SCAN, "models3d": broken}, None, ABSENT, w),
    }
    for name, out in cases.items():
        assert out["score"] > clean + 0.5, name
    assert cases["malware"]["breakdown"][0]["signal"] == "scan"
    assert "o1" in cases["stolen"]["breakdown"][0]["reason"]
    assert "not_watertight" in cases["broken"]["breakdown"][0]["reason"]
    version = risk_score({"scan": CLEAN_SCAN, "duplicates": own}, None, ABSENT, w)
    assert version["score"] == 0.0 and "own asset a0" in _lines(version)["duplicates"]["reason"]


def test_seller_trust_and_history_lines() -> None:
    w = WEIGHTS.risk_weights
    shady = SellerContext(0.1, ["0.10 base trust score"], False, 8, 3, 2)
    good = SellerContext(0.7, ["0.60 base trust score", "+0.10 verified ID"], False, 8, 0, 0)
    bad_out = risk_score({"scan": CLEAN_SCAN}, shady, ABSENT, w)
    good_out = risk_score({"scan": CLEAN_SCAN}, good, ABSENT, w)
    assert bad_out["score"] > 0.3 > good_out["score"]
    lines = _lines(bad_out)
    assert "3 banned and 2 held of 8" in lines["seller_history"]["reason"]
    assert lines["seller_trust"]["value"] == pytest.approx(0.8)


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def test_sharpness_and_resolution_of_images() -> None:
    rng = np.random.default_rng(0)
    sharp = Image.fromarray(rng.integers(0, 255, (600, 600), dtype=np.uint8))
    blurred = sharp.filter(ImageFilter.GaussianBlur(6))
    a, b = measure_image(_png(sharp)), measure_image(_png(blurred))
    assert a["sharpness"] > 0.9 > b["sharpness"]
    assert a["resolution"] == pytest.approx(600 / 1024, abs=1e-3)
    q = quality_score({}, [a, b], WEIGHTS.quality_weights)
    assert "600x600" in _lines(q)["images"]["reason"]


def test_anomaly_model_ranks_outliers_higher() -> None:
    rng = np.random.default_rng(1)
    normal = rng.normal(size=(300, len(PROPERTIES)))
    model = AnomalyModel(n_estimators=100).fit(normal)
    inliers = model.signal(rng.normal(size=(50, len(PROPERTIES))))
    outliers = model.signal(rng.normal(size=(50, len(PROPERTIES))) + 6.0)
    assert outliers.min() > np.median(inliers)
    assert ((inliers >= 0.0) & (inliers <= 1.0)).all() and outliers.max() == 1.0


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    p = Platform.build(Settings.load(data_dir=tmp_path / "agora"))
    p.people.upsert_seller("s1", {"name": "Pixel Forge"}, "t")
    yield p
    p.close()


def _record(platform: Platform, n: int, held: bool, props: np.ndarray) -> None:
    asset_id = f"a{n:03d}"
    status = AssetStatus.FLAGGED if held else AssetStatus.ACTIVE
    with platform.db.session() as s:
        s.add(
            AssetRow(
                id=asset_id, seller_id="s1", title=f"asset {n}", status=status.value, attributes={}
            )
        )
        s.flush()
        output = {"properties": dict(zip(PROPERTIES, map(float, props), strict=True))}
        s.add(
            ProcessingResultRow(
                asset_id=asset_id, job_id=f"j{n}", step="scores", model="scores@1.0", output=output
            )
        )


def test_anomaly_model_is_trained_through_the_gate(platform: Platform) -> None:
    services = TrainingServices(platform.settings, platform.db, platform.models)
    rng = np.random.default_rng(2)
    with pytest.raises(InvalidInput, match="needs 20"):
        train_anomaly(services)
    for n in range(120):
        held = n % 6 == 0
        _record(platform, n, held, rng.normal(size=len(PROPERTIES)) + (5.0 if held else 0.0))
    out = train_anomaly(services, n_estimators=50)
    assert out["decision"] == "champion"
    assert out["gate"]["candidate"]["auc"] > 0.9
    assert "auc_train" in out["gate"]["candidate"]
    again = train_anomaly(services, n_estimators=50)
    assert again["decision"] == "rejected"  # the same data cannot beat the champion


def test_scores_run_after_the_steps_they_read_when_those_are_enabled() -> None:
    from agora.pipeline.base import Step, StepContext, StepOutcome
    from agora.pipeline.registry import order_steps
    from agora.quality.risk import ScoresStep

    class Named(Step):
        version = "1"

        def run(self, ctx: StepContext) -> StepOutcome:
            return StepOutcome(output={})

    def named(n: str) -> Step:
        return type(n, (Named,), {"name": n})()

    scores = ScoresStep(WEIGHTS)
    alone = order_steps([scores, named("integrity")])
    assert [s.name for s in alone] == ["integrity", "scores"]  # absent ones are not required
    full = order_steps([scores, named("zzz"), named("models3d"), named("scan"), named("integrity")])
    names = [s.name for s in full]
    assert names.index("scores") > max(names.index(n) for n in ("models3d", "scan", "integrity"))
