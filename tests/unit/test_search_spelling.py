"""did_you_mean from the catalog's words."""

from __future__ import annotations

import threading

from agora.search.spelling import Speller, edit_budget

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
