"""Taxonomy as data, and the trained heads: fit, calibrate, change with feedback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agora.errors import InvalidInput
from agora.tagging import TagHeads, Taxonomy
from agora.tagging.features import HEAD_DIM

TANK, TILE, CARD = ("object_type", "tank"), ("object_type", "tile"), ("object_type", "playing_card")


def test_default_taxonomy_has_the_issue_categories_and_languages() -> None:
    tax = Taxonomy.default()
    assert {"object_type", "art_style", "genre", "format", "engine_compatibility", "theme"} <= set(
        tax.categories
    )
    card = tax.label("object_type", "playing_card")
    assert {"en", "de", "fr"} <= set(card.descriptions)
    assert tax.resolve("Poker Card") == CARD
    assert tax.resolve("unknown thing") is None
    assert tax.map_cloud("rekognition", "AUTOMOBILE") == ("object_type", "vehicle")
    assert tax.map_cloud("generic", "tank") == TANK  # no rule: label names still match


def test_operator_taxonomy_is_validated(tmp_path: Path) -> None:
    good = tmp_path / "t.yaml"
    good.write_text(
        "version: op-1\ncategories:\n  object_type:\n    labels:\n"
        "      ship: {synonyms: [boat], descriptions: {en: a ship}}\n"
        "cloud_mappings:\n  rekognition:\n    Watercraft: {category: object_type, label: ship}\n"
    )
    tax = Taxonomy.load(good)
    assert tax.version == "op-1" and tax.map_cloud("rekognition", "watercraft") == (
        "object_type",
        "ship",
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("categories:\n  object_type:\n    labels: {}\n")
    with pytest.raises(InvalidInput):
        Taxonomy.load(bad)
    bad.write_text(
        "categories:\n  a:\n    labels: {x: {}}\n"
        "cloud_mappings:\n  p:\n    Y: {category: a, label: z}\n"
    )
    with pytest.raises(InvalidInput, match="unknown tag"):
        Taxonomy.load(bad)
    with pytest.raises(InvalidInput):
        Taxonomy.load(tmp_path / "missing.yaml")


def clusters(n: int, seed: int = 0) -> tuple[np.ndarray, list[set[tuple[str, str]]]]:
    """Three separable groups of head-input rows."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, HEAD_DIM))
    rows, labels = [], []
    for i in range(n):
        c = i % 3
        rows.append(centres[c] + 0.3 * rng.normal(size=HEAD_DIM))
        labels.append([{TANK}, {TILE}, {CARD}][c])
    return np.asarray(rows, dtype=np.float32), labels


def test_heads_learn_each_tag_and_calibrate_when_data_allows() -> None:
    x, labels = clusters(30)
    heads = TagHeads().fit(x, labels)
    assert heads.tags == sorted([TANK, TILE, CARD])
    assert all(heads.calibrated.values())  # 10 positives each: sigmoid calibration
    probs = heads.predict_proba(x[:3])
    assert probs[TANK][0] > 0.5 > probs[TANK][1]
    few = TagHeads().fit(x[:6], labels[:6])
    assert not any(few.calibrated.values())
    with pytest.raises(ValueError):
        heads.predict_proba(np.zeros((1, 5)))


def test_feedback_changes_the_next_head() -> None:
    x, labels = clusters(12)
    before = TagHeads().fit(x, labels).predict_proba(x[:1])[TANK][0]
    # Moderators say the first group is tiles, not tanks.
    corrected = [({TILE} if i % 3 == 0 else lab) for i, lab in enumerate(labels)]
    after = TagHeads().fit(x, corrected).predict_proba(x[:1])
    assert before > 0.5
    assert TANK not in after or after[TANK][0] < 0.5
    assert after[TILE][0] > 0.5


def test_a_tag_without_negatives_is_not_learnt() -> None:
    x, _ = clusters(6)
    heads = TagHeads().fit(x, [{TANK}] * 6)
    assert heads.tags == []
