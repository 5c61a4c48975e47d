"""Tag aggregation and the ADR quality score on worked examples."""

from __future__ import annotations

import pytest

from agora.tagging import Tag, Taxonomy, aggregate, calculate_quality_score, count_model_agreements

TAX = Taxonomy.default()
IMG, TXT, CLOUD = "zeroshot-image@1.0", "zeroshot-text@1.0", "rekognition@3.0"


def by_key(tags: list[Tag]) -> dict[tuple[str, str], Tag]:
    return {t.key: t for t in tags}


def test_worked_example_bonuses_conflicts_and_caps() -> None:
    local = [
        Tag("tank", 0.70, "object_type", IMG),
        Tag("tank", 0.65, "object_type", TXT),
        Tag("vehicle", 0.60, "object_type", IMG),
        Tag("tile", 0.50, "object_type", IMG),
        Tag("tileset", 0.40, "object_type", TXT),  # a synonym of "tile"
        Tag("sci_fi", 0.95, "theme", IMG),
        Tag("not-a-tag", 0.99, "object_type", IMG),  # unknown: dropped
    ]
    cloud = [
        Tag("tank", 0.80, "object_type", CLOUD),
        Tag("item", 0.90, "object_type", CLOUD),
        Tag("science fiction", 0.90, "theme", CLOUD),  # synonym of sci_fi
    ]
    out = by_key(aggregate(local, cloud, TAX))
    # tank: the cloud's 0.80 wins the conflict, +0.1 cloud confirmation, +0.05 agreement.
    tank = out[("object_type", "tank")]
    assert tank.confidence == pytest.approx(0.95)
    assert tank.source_model == CLOUD
    assert set(tank.agreed_by) == {IMG, TXT, CLOUD}
    # vehicle: one local model, no bonus.
    assert out[("object_type", "vehicle")].confidence == pytest.approx(0.60)
    # tile: two local models agree (one via a synonym): +0.05 only.
    assert out[("object_type", "tile")].confidence == pytest.approx(0.55)
    # item: cloud only, nothing confirms it: its own confidence.
    assert out[("object_type", "item")].confidence == pytest.approx(0.90)
    # sci_fi: 0.95 + 0.1 + 0.05 is capped at 1.
    assert out[("theme", "sci_fi")].confidence == 1.0
    assert ("object_type", "not-a-tag") not in out
    assert len(out) == 5
    ordered = aggregate(local, cloud, TAX)
    assert [t.confidence for t in ordered] == sorted((t.confidence for t in ordered), reverse=True)


def test_duplicates_from_one_model_are_not_an_agreement() -> None:
    out = aggregate(
        [Tag("tile", 0.5, "object_type", IMG), Tag("tile", 0.6, "object_type", IMG)], [], TAX
    )
    assert len(out) == 1 and out[0].confidence == pytest.approx(0.6) and out[0].agreed_by == ()


def test_quality_score_worked_examples() -> None:
    tags = [
        Tag("tank", 0.95, "object_type", CLOUD, agreed_by=(IMG, TXT, CLOUD)),
        Tag("vehicle", 0.60, "object_type", IMG),
        Tag("tile", 0.55, "object_type", IMG, agreed_by=(IMG, TXT)),
    ]
    assert count_model_agreements(tags) == 2
    models = [IMG, TXT, CLOUD]
    stable = lambda m: True  # noqa: E731
    # mean 0.70 - min(100/2000, 0.1)=0.05 + 2*0.02 + 0.05
    assert calculate_quality_score(tags, 100, models, stable) == pytest.approx(0.74)
    # The time penalty saturates at 0.1 (the ADR formula reaches it at 200 ms).
    assert calculate_quality_score(tags, 1500, models, stable) == pytest.approx(0.69)
    assert calculate_quality_score(tags, 5000, models, stable) == pytest.approx(0.69)
    # One unstable (non-champion) version: no stability bonus.
    assert calculate_quality_score(tags, 100, models, lambda m: m != IMG) == pytest.approx(0.69)


def test_quality_score_of_the_adr_response_example_and_the_cap() -> None:
    adr = [
        Tag("character", 0.92, "object_type", "clip"),
        Tag("realistic", 0.88, "art_style", "clip"),
    ]
    # mean 0.90 - 0.1 (1250 ms) + 0 agreements + 0.05 stable
    assert calculate_quality_score(adr, 1250, ["clip"], lambda m: True) == pytest.approx(0.85)
    perfect = [Tag("tank", 1.0, "object_type", CLOUD, agreed_by=(IMG, CLOUD))]
    assert calculate_quality_score(perfect, 0, [CLOUD], lambda m: True) == 1.0
    assert calculate_quality_score([], 0, [], lambda m: True) == pytest.approx(0.05)


def test_confidence_is_always_clamped_to_unit_interval() -> None:
    assert Tag("x", 1.7, "c", "m").confidence == 1.0
    assert Tag("x", -0.2, "c", "m").confidence == 0.0
