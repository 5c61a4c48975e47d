"""Tag feedback items: ``{"name", "category"?, "verdict"}`` resolved against the taxonomy.

Example:
    >>> from agora.tagging.taxonomy import Taxonomy
    >>> parse_feedback([{"name": "Spritesheet", "verdict": "confirm"}], Taxonomy.default())
    [(('object_type', 'sprite_sheet'), 'confirm')]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agora.errors import InvalidInput
from agora.tagging.heads import TagKey
from agora.tagging.taxonomy import Taxonomy

VERDICTS = ("confirm", "reject")
MAX_ITEMS = 200


def parse_feedback(items: Any, taxonomy: Taxonomy) -> list[tuple[TagKey, str]]:
    """``[((category, label), verdict)]`` in input order; ``InvalidInput`` for a bad
    item or a name (label or synonym) the taxonomy does not know."""
    if not isinstance(items, Sequence) or not items or len(items) > MAX_ITEMS:
        raise InvalidInput(f"feedback must be a list of 1..{MAX_ITEMS} items")
    parsed = []
    for it in items:
        if not isinstance(it, Mapping):
            raise InvalidInput("each feedback item must be an object")
        verdict, name, category = it.get("verdict"), it.get("name"), it.get("category")
        if verdict not in VERDICTS or not isinstance(name, str):
            raise InvalidInput(f"each item needs 'name' and 'verdict' in {list(VERDICTS)}")
        hit = taxonomy.resolve(name, category if isinstance(category, str) else None)
        if hit is None:
            raise InvalidInput(f"tag {name!r} is not in the taxonomy")
        parsed.append((hit, verdict))
    return parsed
