"""Trust and safety: text and image moderation with a human review queue.

Example:
    >>> svc = platform.moderation  # the composition root builds it  # doctest: +SKIP
    >>> svc.analyze_text("whatsapp me 0812 345 678").action.value  # doctest: +SKIP
    'review'
"""

from agora.moderation.base import Action, DetectorResult, Reason
from agora.moderation.image import ImageSafety, ImageVerdict
from agora.moderation.rules import RuleMatch, RuleSet
from agora.moderation.score import SafetyAssessment, assess
from agora.moderation.text import TextAnalyzer, TextModels, TextVerdict
from agora.moderation.text_models import SpamClassifier, TextClassifier, ToxicityClassifier

__all__ = [
    "Action",
    "DetectorResult",
    "ImageSafety",
    "ImageVerdict",
    "Reason",
    "RuleMatch",
    "RuleSet",
    "SafetyAssessment",
    "SpamClassifier",
    "TextAnalyzer",
    "TextClassifier",
    "TextModels",
    "TextVerdict",
    "ToxicityClassifier",
    "assess",
]
