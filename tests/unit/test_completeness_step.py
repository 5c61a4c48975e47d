"""Metadata completeness score."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from agora.blobs import LocalBlobStore
from agora.catalog.views import asset_view
from agora.config import Settings
from agora.pipeline.base import StepContext
from agora.pipeline.steps.completeness import WEIGHTS, CompletenessStep, score_asset
from agora.storage.tables import AssetRow

FULL = {
    "title": "Low-poly city builder pack",
    "description": " ".join(["word"] * 60),
    "tags": ["city", "low-poly", "buildings", "roads", "kenney"],
    "category": "3d-models",
    "price": "4.99",
    "currency": "EUR",
    "images": [{"sha256": "a" * 64}],
    "files": [{"sha256": "b" * 64}],
}


def test_weights_sum_to_one() -> None:
    assert abs(sum(WEIGHTS.values()) - 1.0) < 1e-9


def test_complete_listing_scores_one() -> None:
    result = score_asset(FULL, {"ok": True})
    assert result["score"] == 1.0 and result["missing"] == [] and result["partial"] == []


def test_empty_listing_scores_zero_and_lists_everything() -> None:
    result = score_asset({"title": ""}, None)
    assert result["score"] == 0.0
    assert set(result["missing"]) == set(WEIGHTS) and result["partial"] == []


def test_partial_credit_and_breakdown() -> None:
    asset = {
        **FULL,
        "description": " ".join(["w"] * 25),
        "tags": ["a", "A", "b"],
        "currency": None,
    }
    result = score_asset(asset, {"ok": False})
    checks = result["checks"]
    assert checks["description"]["score"] == 0.5
    assert checks["tags"]["score"] == 0.4  # duplicates ignored
    assert checks["price"]["score"] == 0.5
    assert checks["integrity"]["score"] == 0.0
    expected = 1.0 - 0.2 * 0.5 - 0.15 * 0.6 - 0.1 * 0.5 - 0.1
    assert abs(result["score"] - expected) < 1e-4
    # Present but short of full credit is "partial", never "missing".
    assert result["partial"] == ["description", "tags", "price"]
    assert result["missing"] == ["integrity"]


def test_step_reads_integrity_upstream_and_never_holds(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    ctx = StepContext(
        asset=FULL,
        blobs=LocalBlobStore(settings.blobs.url),
        settings=settings,
        upstream={"integrity": {"ok": True}},
    )
    step = CompletenessStep()
    outcome = step.run(ctx)
    assert (outcome.output["score"], outcome.hold, step.requires) == (1.0, False, ("integrity",))
    assert step.model == "completeness@1.0"


def test_fields_set_on_a_catalog_asset_are_not_missing() -> None:
    """Regression: the step reads the catalog's asset view, where creator tags
    are ``tags``; reading ``creator_tags`` listed tags as missing on every asset."""
    now = datetime.now(UTC)
    row = AssetRow(
        id="a1",
        seller_id="s1",
        title="Low-poly city builder pack",
        description=" ".join(["word"] * 60),
        creator_tags=["city", "low-poly", "buildings", "roads", "kenney"],
        category="3d-models",
        price=Decimal("4.99"),
        currency="EUR",
        files=[{"sha256": "b" * 64}],
        images=[{"sha256": "a" * 64}],
        status="pending",
        attributes={},
        revision=1,
        created_at=now,
        updated_at=now,
    )
    result = score_asset(asset_view(row), {"ok": True})
    assert result["missing"] == [] and result["partial"] == []
    assert result["checks"]["tags"]["score"] == 1.0 and result["score"] == 1.0
    # A free asset has a price: 0 is set, not missing.
    row.price, row.currency = Decimal("0"), None
    assert score_asset(asset_view(row), {"ok": True})["partial"] == ["price"]
