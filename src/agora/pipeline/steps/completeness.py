"""Pipeline step ``completeness``: how complete is a listing's metadata?

A weighted sum of checks, each scored in [0, 1] (partial credit grows
linearly up to its target), so the score is in [0, 1] and explainable:

===============  ======  ==================================================
check            weight  full credit when
===============  ======  ==================================================
title            0.15    >= 12 characters and >= 2 words (half from 3 chars)
description      0.20    >= 50 words (linear below)
tags             0.15    >= 5 distinct creator tags (linear below)
category         0.10    a category is set
price            0.10    price and a 3-letter currency (half: price only)
images           0.10    at least one image
files            0.10    at least one file
integrity        0.10    the ``integrity`` step found every file sound
===============  ======  ==================================================

``missing`` names the checks with no credit at all (the field is absent or
empty, or integrity failed); ``partial`` names those that have some credit but
not all (a short description, three tags, a price without a currency), so a
field that is present is never reported as missing.

The step reads the asset as the catalog's API view (``catalog.views.asset_view``),
where creator tags are ``tags``.

Example:
    >>> out = score_asset({"title": "Low-poly city pack", "images": [{}], "tags": ["city"]}, None)
    >>> out["score"], out["partial"]
    (0.28, ['tags'])
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from agora.pipeline.base import Step, StepContext, StepOutcome

WEIGHTS: dict[str, float] = {
    "title": 0.15,
    "description": 0.20,
    "tags": 0.15,
    "category": 0.10,
    "price": 0.10,
    "images": 0.10,
    "files": 0.10,
    "integrity": 0.10,
}
TITLE_CHARS, DESCRIPTION_WORDS, TAGS = 12, 50, 5


def _words(text: Any) -> int:
    return len(re.findall(r"\w+", text)) if isinstance(text, str) else 0


def _title(asset: Mapping[str, Any]) -> float:
    title = (asset.get("title") or "").strip()
    if len(title) >= TITLE_CHARS and _words(title) >= 2:
        return 1.0
    return 0.5 if len(title) >= 3 else 0.0


def _description(asset: Mapping[str, Any]) -> float:
    return min(1.0, _words(asset.get("description")) / DESCRIPTION_WORDS)


def _tags(asset: Mapping[str, Any]) -> float:
    tags = {str(t).strip().lower() for t in asset.get("tags") or [] if str(t).strip()}
    return min(1.0, len(tags) / TAGS)


def _price(asset: Mapping[str, Any]) -> float:
    if asset.get("price") is None:
        return 0.0
    currency = asset.get("currency")
    return 1.0 if isinstance(currency, str) and len(currency) == 3 else 0.5


_CHECKS: dict[str, Callable[[Mapping[str, Any]], float]] = {
    "title": _title,
    "description": _description,
    "tags": _tags,
    "category": lambda a: 1.0 if a.get("category") else 0.0,
    "price": _price,
    "images": lambda a: 1.0 if a.get("images") else 0.0,
    "files": lambda a: 1.0 if a.get("files") else 0.0,
}


def score_asset(asset: Mapping[str, Any], integrity: Mapping[str, Any] | None) -> dict[str, Any]:
    """Score, per-check breakdown, the checks with no credit (``missing``) and
    those with some credit short of full (``partial``).
    ``integrity`` is the integrity step's output (None when it did not run)."""
    scores = {name: check(asset) for name, check in _CHECKS.items()}
    scores["integrity"] = 1.0 if integrity is not None and integrity.get("ok") else 0.0
    checks = {name: {"score": round(s, 4), "weight": WEIGHTS[name]} for name, s in scores.items()}
    total = sum(WEIGHTS[name] * s for name, s in scores.items())
    return {
        "score": round(total, 4),
        "checks": checks,
        "missing": [name for name, s in scores.items() if s <= 0.0],
        "partial": [name for name, s in scores.items() if 0.0 < s < 1.0],
    }


class CompletenessStep(Step):
    """Metadata completeness score; informative only, never holds an asset."""

    name = "completeness"
    version = "1.0"
    requires = ("integrity",)

    def run(self, ctx: StepContext) -> StepOutcome:
        """Score the asset from its catalog fields and the integrity result."""
        return StepOutcome(
            output=score_asset(ctx.asset, ctx.upstream.get("integrity")), confidence=1.0
        )
