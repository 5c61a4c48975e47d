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


def test_label_spreading_follows_the_catalog_to_unseen_rows() -> None:
    from agora.tagging.propagation import NeighbourhoodLabels

    # Two elongated groups: the one labelled example of each sits at an end, so the far
    # end of group A is nearer to B's example than to A's; the chain of unlabelled
    # catalog rows in between carries A's label there.
    t = np.linspace(0, 1, 40)
    a = np.stack([t * 6, np.zeros_like(t), np.ones_like(t)], axis=1)
    b = np.stack([t * 6, np.full_like(t, 2.5), np.ones_like(t)], axis=1)
    b[:, 0] = 6 + 3.5 - b[:, 0]  # B's labelled end is near A's far end
    rows = np.vstack([a[:1], b[:1], a[1:], b[1:]])
    y = np.zeros((len(rows), 2), np.float32)
    y[0, 0] = y[1, 1] = 1
    nl = NeighbourhoodLabels(neighbours=4).fit(rows, y, ["object_type", "object_type"])
    far_a = np.array([[6.0, 0.0, 1.0]])  # not a catalog row
    assert np.linalg.norm(far_a - b[0]) < np.linalg.norm(far_a - a[0])
    score = nl.score(far_a)[0]
    assert score[0] > 0.5 > score[1]
    assert np.allclose(nl.labels.sum(axis=1), 1.0, atol=1e-5)
    assert ((nl.score(rows) >= 0) & (nl.score(rows) <= 1 + 1e-6)).all()


def test_heads_use_catalog_rows_and_stay_picklable() -> None:
    import pickle

    x, labels = clusters(30)
    heads = TagHeads().fit(x[:3], labels[:3], catalog=x)  # one example per tag
    assert heads.spread is not None and len(heads.spread.refs) == 30  # labelled rows not twice
    again = pickle.loads(pickle.dumps(heads))
    probs = again.predict_proba(x[3:])
    hits = [max(probs, key=lambda k: probs[k][i]) in labels[3 + i] for i in range(27)]
    assert np.mean(hits) == 1.0
    assert max(float(p.max()) for p in probs.values()) <= heads.few_shot_ceiling  # k = 1 capped


def test_the_compiled_bank_gives_scikit_learns_probabilities() -> None:
    x, labels = clusters(30)
    labels = [lab | ({TILE} if i % 5 == 0 else set()) for i, lab in enumerate(labels)]
    heads = TagHeads().fit(x, labels)
    few = TagHeads().fit(x[:6], labels[:6])
    for fitted in (heads, few):
        rows = fitted.scaler.transform(x) if fitted.scaler is not None else x
        expected = np.stack([fitted.heads[k].predict_proba(rows)[:, 1] for k in fitted.tags], 1)
        assert fitted.bank is not None
        np.testing.assert_allclose(fitted.bank.predict(rows), expected, rtol=1e-6, atol=1e-9)
    assert any(heads.calibrated.values()) and not any(few.calibrated.values())
    assert TagHeads().predict_proba(x[:1]) == {}


def test_a_challenger_in_canary_tags_its_share_and_is_reported(tmp_path: Path) -> None:
    from agora.config import Settings
    from agora.mlops.canary_judge import version_stats
    from agora.runtime import Platform
    from agora.tagging.heads_tagger import HeadsTagger
    from agora.tagging.training import HEADS_MODEL

    platform = Platform.build(Settings.load(data_dir=tmp_path / "agora"))
    try:
        x, labels = clusters(30)
        versions = []
        for k in (12, 30):  # two different heads
            heads = TagHeads().fit(x[:k], labels[:k])
            ref = platform.models.save(HEADS_MODEL, heads, features=["enc"])
            versions.append(ref.version)
        registry = platform.model_registry
        registry.promote(HEADS_MODEL, versions[0], actor="t", reason="first")
        registry.challenge(HEADS_MODEL, versions[1], actor="t", reason="gate", canary_share=0.5)
        tagger = HeadsTagger(platform.models, encoder_key="enc", db=platform.db, flush_s=3600)
        served = [tagger.predict_row(x[i % 30], subject_id=f"asset-{i}") for i in range(60)]
        used = [tags[0].source_model for tags in served]
        assert set(used) == {f"{HEADS_MODEL}@{v}" for v in versions}
        assert tagger.predict_row(x[0])[0].source_model == f"{HEADS_MODEL}@{versions[0]}"
        tagger.flush()
        challenger = version_stats(platform.db, HEADS_MODEL, versions[1], None)
        champion = version_stats(platform.db, HEADS_MODEL, versions[0], None)
        assert challenger.requests == used.count(f"{HEADS_MODEL}@{versions[1]}")
        assert champion.requests == 61 - challenger.requests and not challenger.errors
        registry.abort_canary(HEADS_MODEL, actor="t", reason="over")
        tagger.refresh()
        assert {tagger.predict_row(x[1], subject_id=f"asset-{i}")[0].source_model
                for i in range(20)} == {f"{HEADS_MODEL}@{versions[0]}"}  # fmt: skip
    finally:
        platform.close()


def test_reviews_of_suggested_tags_are_the_suggesting_versions_outcomes(tmp_path: Path) -> None:
    """A review of a tag some heads version suggested (or agreed with) is its impression;
    a confirmation is its click. Other models' tags and unsuggested tags count for none."""
    from agora.config import Settings
    from agora.mlops.canary_judge import version_stats
    from agora.runtime import Platform
    from agora.tagging.heads_tagger import HeadsTagger
    from agora.tagging.training import HEADS_MODEL

    platform = Platform.build(Settings.load(data_dir=tmp_path / "agora"))
    try:
        tagger = HeadsTagger(platform.models, encoder_key="enc", db=platform.db, flush_s=3600)
        suggested = [
            {"name": "tank", "category": "object_type", "source_model": f"{HEADS_MODEL}@2"},
            {"name": "tree", "category": "object_type", "source_model": "clip-zeroshot",
             "agreed_by": [f"{HEADS_MODEL}@3"]},
            {"name": "low_poly", "category": "style", "source_model": "clip-zeroshot"},
        ]  # fmt: skip
        verdicts = [
            (("object_type", "tank"), "confirm"),
            (("object_type", "tree"), "reject"),
            (("style", "low_poly"), "confirm"),  # no heads version suggested it
            (("style", "pixel_art"), "confirm"),  # not suggested at all
        ]
        assert tagger.report_feedback(suggested, verdicts) == 2
        tagger.flush()
        v2 = version_stats(platform.db, HEADS_MODEL, "2", None)
        v3 = version_stats(platform.db, HEADS_MODEL, "3", None)
        assert (v2.impressions, v2.clicks, v3.impressions, v3.clicks) == (1, 1, 1, 0)
        assert v2.ctr == 1.0 and v3.ctr == 0.0
        assert (
            HeadsTagger(platform.models, encoder_key="enc").report_feedback(suggested, verdicts)
            == 0
        )  # without a database there is no monitor
    finally:
        platform.close()
