"""The passage a text encoder embeds for an asset: readable sentences, never ``..``."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agora.search.indexer import passage_text


def test_a_description_ending_its_sentence_gets_no_second_full_stop() -> None:
    # The bug the doctest found: "Tank. A green tank.. Tags: war, 2d".
    asset = {"title": "Tank", "description": "A green tank.", "tags": ["war", "2d"]}
    assert passage_text(asset) == "Tank. A green tank. Tags: war, 2d"


def test_sentences_without_a_full_stop_get_one_before_the_tags() -> None:
    assert passage_text({"title": "Tank.", "tags": ["war"]}) == "Tank. Tags: war"
    assert passage_text({"title": "Tank", "description": "Green", "tags": ["a"]}) == (
        "Tank. Green. Tags: a"
    )
    assert passage_text({"title": "Is it a tank?", "tags": ["a"]}) == "Is it a tank? Tags: a"


def test_creator_tags_stand_in_for_tags_and_no_tags_means_no_tags_sentence() -> None:
    assert passage_text({"title": "Tank", "creator_tags": ["army"]}) == "Tank. Tags: army"
    assert passage_text({"title": "Tank", "description": "Green."}) == "Tank. Green."
    assert passage_text({"tags": ["war"]}) == "Tags: war"
    assert passage_text({}) == ""


@given(
    title=st.text(alphabet="ab .!?", max_size=12),
    description=st.text(alphabet="ab .!?", max_size=12),
    tags=st.lists(st.text(alphabet="ab", min_size=1, max_size=4), min_size=1, max_size=3),
)
def test_the_tags_sentence_adds_a_full_stop_only_where_none_ends_the_text(
    title: str, description: str, tags: list[str]
) -> None:
    body = passage_text({"title": title, "description": description})
    text = passage_text({"title": title, "description": description, "tags": tags})
    assert text.endswith("Tags: " + ", ".join(tags))
    stop = "" if not body or body.endswith((".", "!", "?")) else "."
    assert text == f"{body}{stop} Tags: {', '.join(tags)}".lstrip()
    # So the tags never bring a doubled full stop the creator did not write.
    assert not text.endswith(".. Tags: " + ", ".join(tags)) or body.endswith("..")
