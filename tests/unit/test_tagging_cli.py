"""``agora tagging``: taxonomy, tag, train (through the evaluation gate), status."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from agora.cli.main import app
from agora.config import Settings
from agora.runtime import Platform
from agora.storage.tables import AssetRow, SellerRow
from agora.tagging.features import HEAD_DIM, TaggingFeatureExtractor
from agora.tagging.tables import TagEmbeddingRow, TagFeedbackRow

LABELS = ("tank", "tile", "playing_card")


def seed(data_dir: Path, n: int = 15) -> None:
    """Stored head inputs of three separable groups, every one confirmed, training allowed."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, HEAD_DIM))
    platform = Platform.build(Settings.load(data_dir=data_dir))
    try:
        with platform.db.session() as s:
            s.add(SellerRow(id="s1", name="S", attributes={}))
            s.flush()
            for i in range(n):
                row = (centres[i % 3] + 0.4 * rng.normal(size=HEAD_DIM)).astype(np.float32)
                s.add(
                    AssetRow(
                        id=f"a{i}",
                        seller_id="s1",
                        title="Desert tank",
                        description="a top-down army tank sprite",
                        creator_tags=[],
                    )
                )
                s.add(
                    TagEmbeddingRow(
                        asset_id=f"a{i}",
                        encoder=TaggingFeatureExtractor.info.key,
                        vector=row.tobytes(),
                    )
                )
                s.add(TagFeedbackRow(asset_id=f"a{i}", owner_id="s1", category="object_type",
                                     label=LABELS[i % 3], verdict="confirm", role="creator",
                                     actor="t"))  # fmt: skip
        platform.consent.put("s1", {"allows_model_training": True}, actor="t")
    finally:
        platform.close()


@pytest.mark.process
def test_tagging_commands(tmp_path: Path) -> None:
    data = tmp_path / "agora"
    runner = CliRunner()

    def agora(*args: str) -> str:
        result = runner.invoke(app, ["--data-dir", str(data), "tagging", *args])
        assert result.exit_code == 0, result.output
        return result.output

    out = json.loads(agora("taxonomy", "--json"))
    assert "object_type" in out["categories"] and out["version"]
    assert "tank" in agora("taxonomy", "--category", "object_type")
    bad = runner.invoke(app, ["--data-dir", str(data), "tagging", "taxonomy", "--category", "x"])
    assert bad.exit_code == 1 and "unknown category" in bad.output
    seed(data)
    assert "champion: none yet" in agora("status")
    assert "tag-heads@1 (champion): no champion yet" in agora("train")
    status = agora("status")
    assert "champion: tag-heads@1" in status and "0 new consented rows" in status
    again = agora("train")  # the one training path: gated against the champion
    assert "tag-heads@2 (rejected)" in again  # no gain over the champion on the holdout
    assert "champion: tag-heads@1" in agora("status")
    tagged = json.loads(agora("tag", "a0", "--mode", "fast", "--json"))
    assert tagged["asset_id"] == "a0" and tagged["tags"]
    assert all(0 <= t["confidence"] <= 1 and "@" in t["source_model"] for t in tagged["tags"])
    assert "cloud not called" in agora("tag", "a1", "--mode", "fast")
    missing = runner.invoke(app, ["--data-dir", str(data), "tagging", "tag", "nope"])
    assert missing.exit_code == 1 and "not found" in missing.output
