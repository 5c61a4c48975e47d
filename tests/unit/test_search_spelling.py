"""did_you_mean and autocorrect from the catalog's words."""

from __future__ import annotations

import threading

import pytest

from agora.search.spelling import Speller, correctable, edit_budget, words_of

WORDS = {"tank": 12, "tanks": 3, "red": 30, "coin": 8, "gold": 5, "spaceship": 2, "car": 9}


def test_typos_are_corrected_to_the_most_used_closest_word():
    s = Speller(lambda: WORDS)
    assert s.suggest("red tnak") == "red tank"  # a transposition is one edit
    assert s.suggest("Gold Cion") == "Gold coin"  # unknown words only; the rest kept as typed
    assert s.suggest("spacehsip") == "spaceship"
    assert s.suggest("tank") is None  # nothing to correct
    assert s.suggest("zzzqqqxx") is None  # nothing close


def test_short_words_stopwords_and_numbers_are_left_alone():
    s = Speller(lambda: WORDS)
    assert edit_budget("ab") == 0 and edit_budget("abcde") == 1 and edit_budget("abcdef") == 2
    assert s.suggest("ca") is None  # two letters: too short to guess
    assert s.suggest("the tnak 2024") == "the tank 2024"


def test_only_names_the_words_to_correct():
    s = Speller(lambda: WORDS)
    assert s.suggest("tnak cion", only=["cion"]) == "tnak coin"


def test_the_dictionary_is_rebuilt_in_the_background_when_stale():
    words = dict(WORDS)
    rebuilt = threading.Event()

    def source() -> dict[str, int]:
        if "hovercraft" in words:
            rebuilt.set()
        return dict(words)

    s = Speller(source, max_age_s=0.0)
    assert s.suggest("hovercarft") is None
    words["hovercraft"] = 1
    s.suggest("tnak")  # stale: starts a rebuild, answers from the old dictionary
    assert rebuilt.wait(10)
    deadline = threading.Event()
    for _ in range(100):
        if s.suggest("hovercarft") == "hovercraft":
            break
        deadline.wait(0.05)
    assert s.suggest("hovercarft") == "hovercraft"


PRODUCT_WORDS = {"faucet": 40, "ceiling": 25, "fan": 60, "copper": 30, "pipe": 50, "gdak3": 2}


@pytest.mark.parametrize("query", ["ceiling fan", "copper pipe", "faucet"])
def test_a_correct_word_is_never_corrected(query: str) -> None:
    s = Speller(lambda: PRODUCT_WORDS)
    assert s.suggest(query) is None
    # Every word is known to the index: nothing for autocorrect to change.
    assert s.autocorrect(query, "en", unknown=[]) is None


def test_a_real_word_the_catalog_lacks_is_not_autocorrected() -> None:
    # "pope" is one edit from "pipe", but it is an English word: autocorrect keeps
    # it (the semantic retriever may still find something); did_you_mean may offer.
    s = Speller(lambda: PRODUCT_WORDS)
    assert s.autocorrect("copper pope", "en", unknown=["pope"]) is None
    assert s.suggest("copper pope", only=["pope"]) == "copper pipe"


@pytest.mark.parametrize("query", ["gdak4 filter", "mff-gdak4", "2x4 stud", "1/2 in", "12v 60w"])
def test_numbers_and_model_numbers_are_never_corrected(query: str) -> None:
    s = Speller(lambda: PRODUCT_WORDS | {"filter": 9, "stud": 3, "2x6": 4, "12w": 2, "in": 5})
    unknown = [w for w in words_of(query) if w not in PRODUCT_WORDS]
    # gdak4 is one edit from gdak3 and 2x4 from 2x6, yet they name other products.
    assert s.autocorrect(query, "en", unknown=unknown) is None
    assert s.suggest(query) is None
    assert not correctable("gdak4") and not correctable("2x4") and correctable("fuacet")


def test_misspelt_product_words_are_autocorrected() -> None:
    s = Speller(lambda: PRODUCT_WORDS)
    assert s.autocorrect("cieling fan", "en", unknown=["cieling"]) == "ceiling fan"
    assert s.autocorrect("kitchen fuacet", "en", unknown=["fuacet"]) == "kitchen faucet"
