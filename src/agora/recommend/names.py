"""The algorithm names a request may use: Agora's own and seed 003's.

Seed 003 selects its eight algorithms by name (``hybrid``, ``trending``,
``collaborative``, ``content_based``, ``transformer``, ``neural_cf``,
``graph``, ``smart``). Two are Agora models under another name and are
mapped before anything else sees them, so a list, its cache entry and the
bandit's arm carry one name: ``collaborative`` is ``als`` (matrix
factorisation on implicit feedback: "similar users"), ``content_based`` is
``content`` (the embedding profile: "similar content"). The others are served
under their own name (``transformer``, ``neural_cf`` and ``graph`` are
Agora's PyTorch models of the same names).

Example:
    >>> served_algorithm("collaborative"), served_algorithm("ease")
    ('als', 'ease')
    >>> served_algorithm("magic")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    agora.errors.InvalidInput: algorithm must be one of [...]
"""

from __future__ import annotations

from agora.errors import InvalidInput
from agora.recommend.base import ALGORITHMS

SEED_ALIASES: dict[str, str] = {"collaborative": "als", "content_based": "content"}
"""Seed 003's name -> the Agora algorithm that serves it."""

ACCEPTED: tuple[str, ...] = tuple(dict.fromkeys((*ALGORITHMS, *SEED_ALIASES)))
"""Every name ``algorithm`` accepts (the API's enum)."""


def served_algorithm(name: str) -> str:
    """The Agora algorithm that serves ``name``.

    ``InvalidInput`` (422) for a name nobody knows.
    """
    name = SEED_ALIASES.get(name, name)
    if name in ALGORITHMS:
        return name
    raise InvalidInput(f"algorithm must be one of {list(ACCEPTED)}")
