"""Keyword normalisation of units, dimensions and model numbers (agora.search.normalise)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agora.index.analysis import Analyzer
from agora.search.normalise import normalise_product_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1/2 in. x 10 ft. Pipe", "1/2 inch x 10 ft Pipe"),
        ('1/2" pipe', "1/2 inch pipe"),
        ("3/4 inches", "3/4 inch"),
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
    ["made in USA", "3-in-1 tool", "2 in 1 cleaner", "4 V-Groove panel", "2-Light Vanity"],
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
