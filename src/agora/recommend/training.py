"""Task entry point ``agora.recommend.training:train`` for the MLOps orchestrator.

Example:
    >>> from agora.recommend.training import train  # doctest: +SKIP
    >>> train(platform)  # doctest: +SKIP
    {'models': {'ease': 'reco-ease@3', ...}}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agora.recommend import jobs

if TYPE_CHECKING:
    from agora.runtime import Platform


def train(platform: Platform, *, tune: bool = True) -> dict[str, Any]:
    """Fit and save every algorithm (see :func:`agora.recommend.jobs.train`)."""
    refs = jobs.train(platform, tune=tune)
    return {"models": {name: str(ref) for name, ref in refs.items()}}
