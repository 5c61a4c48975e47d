"""Fusion, highlights, language detection and query validation (no models)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agora.errors import InvalidInput
from agora.search.base import SearchFilters, SearchQuery, SearchResult, VisualQuery
from agora.search.fusion import bounds, contributions, fuse
from agora.search.highlight import highlight_fields, mark
from agora.search.language import detect_language


def test_rrf_rewards_agreement_between_retrievers():
    lists = {
        "keyword": [("a", 12.0), ("b", 8.0), ("c", 1.0)],
        "text": [("c", 0.9), ("b", 0.8), ("d", 0.7)],
    }
    fused = fuse(lists, weights={"keyword": 1.0, "text": 1.0}, k=60)
    # Found by both beats first in one list only.
    assert {d for d, _ in fused[:2]} == {"b", "c"} and fused[2][0] == "a"
    assert dict(fused)["b"] == pytest.approx(1 / 62 + 1 / 62)


def test_rrf_weights_shift_the_ranking():
    lists = {"keyword": [("a", 1.0), ("b", 0.5)], "text": [("b", 0.9), ("a", 0.1)]}
    kw = fuse(lists, weights={"keyword": 2.0, "text": 1.0}, k=60)
    vec = fuse(lists, weights={"keyword": 1.0, "text": 2.0}, k=60)
    assert kw[0][0] == "a" and vec[0][0] == "b"


def test_convex_uses_score_gaps():
    lists = {"keyword": [("a", 10.0), ("b", 9.9), ("c", 0.0)], "text": [("c", 0.9), ("b", 0.1)]}
    fused = dict(fuse(lists, weights={"keyword": 0.5, "text": 0.5}, method="convex"))
    assert fused["a"] == pytest.approx(0.5)
    assert fused["c"] == pytest.approx(0.5)
    assert fused["b"] == pytest.approx(0.5 * 0.99)


@given(
    st.dictionaries(
        st.sampled_from(["keyword", "text", "conse"]),
        st.lists(
            st.tuples(st.text("abcdef", min_size=1, max_size=2), st.floats(0, 10)), max_size=8
        ),
    )
)
def test_fusion_is_a_ranking_of_the_union(lists):
    dedup = {n: list(dict(r).items()) for n, r in lists.items()}
    for method in ("rrf", "convex"):
        fused = fuse(dedup, weights={}, method=method)  # type: ignore[arg-type]
        assert {d for d, _ in fused} == {d for r in dedup.values() for d, _ in r}
        scores = [s for _, s in fused]
        assert scores == sorted(scores, reverse=True)


def test_highlights_escape_html_and_mark_plural_forms():
    assert (
        mark("<b>Tanks</b> & cars", {"tank"}) == "&lt;b&gt;<mark>Tanks</mark>&lt;/b&gt; &amp; cars"
    )
    assert mark("nothing here", {"tank"}) is None
    long = "word " * 100 + "tank at the end"
    marked = highlight_fields("tank", {"description": long})["description"]
    assert marked.startswith("…") and "<mark>tank</mark>" in marked and len(marked) < 260


def test_language_detection_lite_model():
    assert detect_language("Wo finde ich ein rotes Auto für mein Rennspiel?") == "de"
    assert detect_language("low poly medieval castle with towers") == "en"
    assert detect_language("12345 !!") is None


@pytest.mark.parametrize(
    "query",
    [
        SearchQuery(""),
        SearchQuery("   "),
        SearchQuery("x" * 1001),
        SearchQuery("a\x00b"),
        SearchQuery("tank", SearchFilters(min_price=5, max_price=1)),
        SearchQuery("tank", SearchFilters(min_price=-1)),
        SearchQuery("tank", limit=0),
        SearchQuery("tank", limit=1001),
        SearchQuery("tank", offset=-1),
        SearchQuery("tank", offset=1990, limit=20),
    ],
)
def test_bad_queries_are_invalid_input(query):
    with pytest.raises(InvalidInput):
        query.validate()


def test_visual_query_needs_exactly_one_input():
    with pytest.raises(InvalidInput):
        VisualQuery().validate()
    with pytest.raises(InvalidInput):
        VisualQuery(asset_id="a", text="b").validate()
    VisualQuery(text="red car").validate()


def test_next_offset():
    result = SearchResult(hits=[], total=0, mode="hybrid", offset=0, limit=20)
    assert result.next_offset is None and not result.degraded


def _explained(lists, weights, method):
    """Each fused doc's contributions, as the search service computes them."""
    per = {n: {doc: (rank, s) for rank, (doc, s) in enumerate(r, 1)} for n, r in lists.items()}
    return {
        doc: contributions(
            {n: ranks[doc] for n, ranks in per.items() if doc in ranks},
            lists=list(lists),
            list_bounds=bounds(lists),
            weights=weights,
            k=60,
            method=method,
        )
        for doc, _ in fuse(lists, weights=weights, k=60, method=method)
    }


_lists = st.dictionaries(
    st.sampled_from(["keyword", "text", "conse", "image"]),
    st.lists(
        st.tuples(st.sampled_from("abcdefgh"), st.floats(-5, 30, allow_nan=False)),
        max_size=8,
        unique_by=lambda t: t[0],
    ).map(lambda r: sorted(r, key=lambda t: -t[1])),
    min_size=1,
)


@given(_lists, st.sampled_from(["rrf", "convex"]))
def test_contributions_sum_to_the_fused_score(lists, method):
    weights = {"keyword": 1.0, "text": 0.7, "conse": 0.3}  # image: the 1.0 default
    fused = dict(fuse(lists, weights=weights, k=60, method=method))
    explained = _explained(lists, weights, method)
    assert set(explained) == set(fused)
    for doc, parts in explained.items():
        assert sum(c.value for c in parts.values()) == pytest.approx(fused[doc], abs=1e-12)
        assert all(c.method == method for c in parts.values())


def test_convex_contribution_carries_its_bounds():
    lists = {"keyword": [("a", 10.0), ("b", 4.0), ("c", 0.0)], "text": [("b", 0.9), ("d", 0.5)]}
    parts = _explained(lists, {"keyword": 3.0, "text": 1.0}, "convex")["b"]
    kw, tx = parts["keyword"], parts["text"]
    assert (kw.low, kw.high, kw.rank, kw.score) == (0.0, 10.0, 2, 4.0)
    assert kw.weight == pytest.approx(0.75) and kw.normalised == pytest.approx(0.4)
    assert kw.value == pytest.approx(0.3) and tx.value == pytest.approx(0.25)
    assert (tx.low, tx.high, tx.normalised) == (0.5, 0.9, pytest.approx(1.0))


def test_rrf_contribution_is_weight_over_k_plus_rank():
    lists = {"keyword": [("a", 10.0), ("b", 4.0)], "text": [("b", 0.9)]}
    parts = _explained(lists, {"keyword": 2.0, "text": 1.0}, "rrf")["b"]
    assert parts["keyword"].value == pytest.approx(2.0 / 62) and parts["keyword"].k == 60
    assert parts["text"].value == pytest.approx(1.0 / 61) and parts["text"].low is None
