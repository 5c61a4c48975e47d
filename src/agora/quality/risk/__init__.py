"""Asset quality and risk scores with reasons, and the anomaly model: the ``scores`` step.

Example:
    >>> from agora.quality.risk import quality_score
    >>> quality_score({}, [], {})["absent"][:2]
    ['integrity', 'completeness']
"""

from agora.quality.risk.anomaly import PROPERTIES, AnomalyModel, asset_properties
from agora.quality.risk.images import measure_image
from agora.quality.risk.signals import SellerContext, Signal, quality_score, risk_score
from agora.quality.risk.step import ScoresStep

__all__ = [
    "PROPERTIES",
    "AnomalyModel",
    "ScoresStep",
    "SellerContext",
    "Signal",
    "asset_properties",
    "measure_image",
    "quality_score",
    "risk_score",
]
