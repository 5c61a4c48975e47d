"""The candidate pool: fixed depths, so the order of hits never depends on the page asked for.

Retrievers are asked for a fixed depth, never one derived from ``offset`` and
``limit`` (that made the top 10 of ``limit=10`` and ``limit=1000`` differ:
another depth gave convex fusion other min-max bounds and other candidates).
The depths are fixed steps, ``first``, ``first * 4``, ... up to ``cap``
(200, 800, 2000 by default), and a step only ever *appends* to the order the
steps before it gave:

- the fused, filtered ranking at depth ``D`` is trusted for its first ``D / 2``
  places (post-filtering and fusion reorder the tail of a shallow pool);
- a deeper step adds the candidates it ranks that are not yet placed, in its
  order, up to its own ``D / 2``; the last step (or one where every retriever
  ran dry, so deeper asks find nothing new) adds all of them.

So the hits are one fixed sequence per query (and catalog state): a page is a
slice of it, each hit with the fused score of the step that placed it, and
paging with any page size never repeats or skips a hit. A page that ends
within the first step's share (the first 100 hits by default) costs one
retrieval at the first depth, as before.

Example:
    >>> layers = {2: Layer([("a", 0.9), ("b", 0.5)], exhausted=False),
    ...           8: Layer([("c", 0.95), ("a", 0.9), ("b", 0.5), ("d", 0.1)], exhausted=True)}
    >>> served = serve(layers.__getitem__, end=4, depths=[2, 8])
    >>> [doc for doc, _, _ in served.order], served.total
    (['a', 'c', 'b', 'd'], 4)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

# Each step asks the retrievers for this many times the previous depth.
STEP_FACTOR = 4


@dataclass(frozen=True)
class Layer:
    """The fused ranking at one depth, after the catalog filters.

    ``exhausted``: every retriever returned fewer rows than it was asked for
    (or its relevance floor cut its list), so a deeper step would find nothing
    new. ``per``: retriever -> id -> (rank, score), for the hits it places.
    ``bounds``: retriever -> (lowest, highest) raw score of its fused list, the
    min-max bounds convex fusion normalised by (a hit's explanation needs them).
    """

    ranked: list[tuple[str, float]]
    exhausted: bool
    per: Mapping[str, Mapping[str, tuple[int, float]]] = field(default_factory=dict)
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Served:
    """The start of a query's fixed hit order: (id, fused score, index of its layer)."""

    order: list[tuple[str, float, int]]
    layers: list[Layer]
    # Hits known so far: exact once ``complete``, else a lower bound.
    total: int
    complete: bool


def step_depths(first: int, cap: int) -> list[int]:
    """The fixed depths: ``first``, then ``STEP_FACTOR`` times more, up to ``cap``.

    >>> step_depths(200, 2000)
    [200, 800, 2000]
    """
    out = [max(1, min(first, cap))]
    while out[-1] < cap:
        out.append(min(cap, out[-1] * STEP_FACTOR))
    return out


def serve(rank_at: Callable[[int], Layer], end: int, depths: Sequence[int]) -> Served:
    """The hit order up to position ``end`` (and whether hits lie beyond it).

    ``rank_at(depth)``: the layer at a depth; called for the first steps only,
    as many as it takes to place ``end`` hits and to know whether one more exists.
    """
    order: list[tuple[str, float, int]] = []
    placed: set[str] = set()
    layers: list[Layer] = []
    for n, depth in enumerate(depths):
        layer = rank_at(depth)
        layers.append(layer)
        new = [(doc, score) for doc, score in layer.ranked if doc not in placed]
        last = layer.exhausted or n == len(depths) - 1
        keep = new if last else new[: max(0, depth // 2 - len(order))]
        order += [(doc, score, n) for doc, score in keep]
        placed.update(doc for doc, _ in keep)
        if last:
            return Served(order, layers, len(order), complete=True)
        # Every candidate of this layer is placed by a later step (deeper lists
        # contain it), so the known total counts the ones not placed yet.
        known = len(order) + len(new) - len(keep)
        if len(order) >= end and known > end:
            return Served(order, layers, known, complete=False)
    raise AssertionError("unreachable: the last step returns")
