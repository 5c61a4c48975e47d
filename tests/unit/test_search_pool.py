"""The candidate pool's fixed steps: one hit order per query, whatever the page asked for."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agora.search.pool import Layer, serve, step_depths


def ranking_world(seed: int, size: int) -> dict[int, Layer]:
    """Layers whose order *changes* with depth, as min-max convex fusion's does."""
    rng = random.Random(seed)
    docs = [f"d{i:04d}" for i in range(size)]
    layers = {}
    for depth in step_depths(10, 160):
        scores = {d: rng.random() for d in docs[: min(size, 2 * depth)]}
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        layers[depth] = Layer(ranked, exhausted=2 * depth >= size)
    return layers


def pages(layers: dict[int, Layer], size: int, upto: int) -> list[str]:
    depths = step_depths(10, 160)
    out: list[str] = []
    offset = 0
    while offset < upto:
        served = serve(layers.__getitem__, offset + size, depths)
        page = [doc for doc, _, _ in served.order[offset : offset + size]]
        if not page:
            break
        out += page
        offset += size
        if offset >= served.total:
            break
    return out[:upto]


def test_step_depths_are_fixed_and_capped():
    assert step_depths(200, 2000) == [200, 800, 2000]
    assert step_depths(50, 60) == [50, 60]
    assert step_depths(5000, 2000) == [2000]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), size=st.integers(1, 400))
def test_every_page_size_sees_one_order_without_repeats_or_gaps(seed, size):
    layers = ranking_world(seed, size)
    whole = pages(layers, 1000, 1000)
    assert len(whole) == len(set(whole))
    for page_size in (1, 7, 50, 333):
        assert pages(layers, page_size, 1000) == whole
    # Every candidate any layer ranked is served exactly once.
    assert set(whole) == {d for layer in layers.values() for d, _ in layer.ranked}


def test_a_page_within_the_first_share_asks_the_first_depth_only():
    asked: list[int] = []

    def rank_at(depth: int) -> Layer:
        asked.append(depth)
        return Layer([(f"d{i}", 1.0 / (i + 1)) for i in range(2 * depth)], exhausted=False)

    served = serve(rank_at, end=20, depths=[200, 800, 2000])
    assert asked == [200] and len(served.order) == 100 and served.total == 400
    assert not served.complete


def test_scores_come_from_the_layer_that_placed_the_hit():
    layers = {
        2: Layer([("a", 0.9), ("b", 0.4)], exhausted=False),
        8: Layer([("b", 0.8), ("a", 0.7), ("c", 0.1)], exhausted=True),
    }
    served = serve(layers.__getitem__, end=3, depths=[2, 8])
    assert served.order == [("a", 0.9, 0), ("b", 0.8, 1), ("c", 0.1, 1)]
    assert served.complete and served.total == 3


@pytest.mark.parametrize("end", [1, 5, 100])
def test_an_exhausted_first_layer_is_the_whole_answer(end):
    calls: list[int] = []

    def rank_at(depth: int) -> Layer:
        calls.append(depth)
        return Layer([("a", 1.0), ("b", 0.5)], exhausted=True)

    served = serve(rank_at, end=end, depths=[200, 800])
    assert calls == [200] and served.total == 2 and served.complete
