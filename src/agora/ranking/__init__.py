"""Ranking: the multi-stage feed/search pipeline, learning-to-rank, diversity, slots, explanations.

Example:
    >>> from agora.ranking.models import CtrModel, LambdaRanker
    >>> CtrModel().ref.name
    'ranking-pctr'
"""

from __future__ import annotations

from agora.ranking.labels import ATTRIBUTION_WINDOW, label_impressions
from agora.ranking.models import CtrModel, LambdaRanker

__all__ = ["ATTRIBUTION_WINDOW", "CtrModel", "LambdaRanker", "label_impressions"]
