"""The gated ``train.tagger`` pipeline and the feedback-count trigger, on stored head inputs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from agora.config import Settings
from agora.errors import InvalidInput
from agora.mlops.tasks import TaskContext, TaskRegistry, call_task
from agora.runtime import Platform
from agora.storage.tables import AssetRow, SellerRow
from agora.tagging.features import HEAD_DIM, TaggingFeatureExtractor
from agora.tagging.pipeline import holdout_split
from agora.tagging.tables import TagEmbeddingRow, TagFeedbackRow
from agora.tagging.taxonomy import Taxonomy
from agora.tagging.training import HEADS_MODEL, build_training_set, feedback_since

LABELS = ("tank", "tile", "playing_card")
ENCODER = TaggingFeatureExtractor.info.key


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    p = Platform.build(Settings.load(data_dir=tmp_path / "agora"))
    yield p
    p.close()


def seed_catalog(platform: Platform, n: int = 36, seed: int = 0) -> list[str]:
    """Three separable groups of stored head inputs from one seller; returns asset ids."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, HEAD_DIM))
    ids = [f"a{i:03d}" for i in range(n)]
    with platform.db.session() as s:
        s.add(SellerRow(id="s1", name="S", attributes={}))
        s.flush()
        for i, asset_id in enumerate(ids):
            row = (centres[i % 3] + 0.4 * rng.normal(size=HEAD_DIM)).astype(np.float32)
            s.add(AssetRow(id=asset_id, seller_id="s1", title="", description="", creator_tags=[]))
            s.add(TagEmbeddingRow(asset_id=asset_id, encoder=ENCODER, vector=row.tobytes()))
    return ids


def confirm(platform: Platform, ids: list[str], label_of: dict[str, str]) -> None:
    with platform.db.session() as s:
        for asset_id in ids:
            s.add(TagFeedbackRow(
                asset_id=asset_id, owner_id="s1", category="object_type",
                label=label_of[asset_id], verdict="confirm", role="creator", actor="t",
            ))  # fmt: skip


def run_task(platform: Platform, **params: object) -> dict:
    fn = TaskRegistry().resolve("train.tagger")  # the path the orchestrator uses
    return call_task(fn, platform, TaskContext(), params)


def test_train_tagger_gates_on_held_out_confirmed_tags(platform: Platform) -> None:
    ids = seed_catalog(platform)
    label_of = {a: LABELS[i % 3] for i, a in enumerate(ids)}
    confirm(platform, ids[:12], label_of)
    with pytest.raises(InvalidInput, match="confirmed tags"):  # no training consent yet
        run_task(platform)
    platform.consent.put("s1", {"allows_model_training": True}, actor="t")
    first = run_task(platform)
    assert first["decision"] == "champion" and first["model"] == f"{HEADS_MODEL}@1"
    candidate = first["gate"]["candidate"]
    assert candidate["holdout_assets"] >= 2 and candidate["precision@3"] == 1.0
    assert "tag_feedback<=" in first["data_snapshot"]
    assert platform.model_registry.deployment(HEADS_MODEL).champion == "1"
    # Same data, no gain over the champion on the same holdout: rejected, champion stays.
    second = run_task(platform)
    assert second["decision"] == "rejected"
    assert second["gate"]["champion"]["precision@3"] == 1.0
    assert platform.model_registry.deployment(HEADS_MODEL).champion == "1"
    with pytest.raises(InvalidInput):
        run_task(platform, holdout=1.5)


def test_holdout_keeps_an_example_of_every_confirmed_tag(platform: Platform) -> None:
    ids = seed_catalog(platform, n=12)
    platform.consent.put("s1", {"allows_model_training": True}, actor="t")
    # One card only: it can never be held out.
    label_of = {a: LABELS[i % 3] for i, a in enumerate(ids)}
    chosen = [a for a in ids if label_of[a] != "playing_card"] + [ids[2]]
    confirm(platform, chosen, label_of)
    data = build_training_set(platform.db, platform.consent, Taxonomy.default(), ENCODER)
    train, held = holdout_split(data, 0.5, seed=1)
    assert set(train).isdisjoint(held) and len(train) + len(held) == len(data.asset_ids)
    kept = [data.confirmed[i] for i in train]
    for tag in {t for tags in data.confirmed for t in tags}:
        assert any(tag in tags for tags in kept)
    assert data.asset_ids.index(ids[2]) in train


def test_feedback_count_trigger_counts_only_consented_rows(platform: Platform) -> None:
    ids = seed_catalog(platform, n=6)
    confirm(platform, ids, dict.fromkeys(ids, "tank"))
    assert feedback_since(platform.db, 0) == 6
    assert feedback_since(platform.db, 0, platform.consent) == 0  # no training consent
    platform.consent.put("s1", {"allows_model_training": True}, actor="t")
    assert feedback_since(platform.db, 0, platform.consent) == 6
    assert feedback_since(platform.db, 4, platform.consent) == 2
