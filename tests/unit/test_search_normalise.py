"""Keyword normalisation of units, dimensions and model numbers (agora.index.normalise)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agora.index.analysis import Analyzer
from agora.index.normalise import normalise_product_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1/2 in. x 10 ft. Pipe", "1/2 inch x 10 ft Pipe 0.5"),
        ('1/2" pipe', "1/2 inch pipe 0.5"),
        ("3/4 inches", "3/4 inch 0.75"),
        ("1-1/2 in. PVC", "1-1/2 inch PVC 1.5"),
        ("8' garland", "8 ft garland"),
        ("10ft cord", "10 ft cord"),
        ("6 feet", "6 ft"),
        ("12v drill 60W bulb", "12 volt drill 60 watt bulb"),
        ("50 lbs. sand", "50 lb sand"),
        ("5 gal. bucket", "5 gal bucket"),
        ("20 sq. ft. per box", "20 sqft per box"),
        ("price per square feet", "price per sqft"),
        ("1.5 cu. ft. safe", "1.5 cuft safe"),
        ("2x4x8 stud", "2 x 4 x 8 stud"),
        ("Model 4.5V", "Model 4.5 volt"),
    ],
)
def test_units_after_numbers_become_one_word(text: str, expected: str) -> None:
    assert normalise_product_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "made in USA",
        "3-in-1 tool",
        "2 in 1 cleaner",
        "4 V-Groove panel",
        "2-Light Vanity",
        "12/25 delivery",
    ],
)
def test_words_that_only_look_like_units_stay(text: str) -> None:
    assert normalise_product_text(text) == text


@pytest.mark.parametrize(
    ("text", "joined"),
    [("mff-gdak3 filter", "mffgdak3"), ("RC-0410 capacitor", "RC0410"), ("WD-40", "WD40")],
)
def test_model_numbers_also_match_without_their_hyphen(text: str, joined: str) -> None:
    out = normalise_product_text(text)
    assert out.startswith(text) and out.split()[-1] == joined


def test_query_and_title_spellings_of_a_size_share_index_terms() -> None:
    analyzer = Analyzer()
    title = analyzer.terms(normalise_product_text("1/2 in. x 10 ft. Copper Pipe"), "en")
    for query in ('1/2" copper pipe 10ft', "1/2 inch copper pipe 10 foot"):
        terms = analyzer.terms(normalise_product_text(query), "en")
        assert set(terms) <= set(title), (query, terms, title)
    # Without normalisation the unit is lost ("in" is a stopword) or never matches.
    assert "inch" not in analyzer.terms("1/2 in. x 10 ft. Copper Pipe", "en")


@given(st.text(alphabet=st.sampled_from(list("0123456789 inftlbsgaloz.x'\"-ABv/")), max_size=40))
def test_normalisation_is_idempotent(text: str) -> None:
    once = normalise_product_text(text)
    assert normalise_product_text(once) == once


@pytest.mark.parametrize(
    ("title", "query"),
    [
        ("1/2 in. x 10 ft. Copper Pipe", "0.5 inch copper pipe"),
        ("1-1/2 in. PVC Pipes", "1.5 in pvc pipe"),
        ("3/4 in. Ball Valve", "0.750 inch ball valves"),
        ("GE MFF-GDAK3 Filter", "mffgdak3 filter"),
        ("2x4x8 Stud", "2 x 4 stud"),
    ],
)
def test_the_product_analyser_matches_sizes_codes_and_plurals(title: str, query: str) -> None:
    analyzer = Analyzer("product")
    title_terms = set(analyzer.terms(title, "en"))
    assert set(analyzer.terms(query, "en")) <= title_terms, (query, title_terms)


def test_the_standard_analyser_is_unchanged_and_versions_differ() -> None:
    assert Analyzer().terms("1/2 in. x 10 ft. Pipes", "en") == ["1", "2", "10", "ft", "pipe"]
    assert Analyzer("standard").version != Analyzer("product").version
    with pytest.raises(ValueError, match="unknown analyser"):
        Analyzer("fancy")  # type: ignore[arg-type]


def test_the_analyser_setting_is_a_strict_choice() -> None:
    from pydantic import ValidationError

    from agora.config import SearchSettings

    assert SearchSettings().keyword_analyser == "product"
    assert SearchSettings(keyword_analyser="standard").keyword_analyser == "standard"
    with pytest.raises(ValidationError):
        SearchSettings(keyword_analyser="fancy")  # type: ignore[arg-type]
