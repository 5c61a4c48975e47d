"""Text understanding beyond moderation: sentiment, emotion and intent heads
trained here on the platform's own text encoder (seed 003's SentimentAnalyzer,
EmotionDetector and IntentRecognizer; seed 001's Natural Language Service).

- ``heads``: a head over the sentence embedding plus hashed n-grams;
- ``datasets``: the public corpora and the written marketplace chat set;
- ``training``: the gated ``train.language`` pipeline into the model store;
- ``service``: the champion heads a process serves, and ``analyze-text``'s
  one-encoding-per-text understanding.
"""

from agora.language.heads import HeadResult, TextHead
from agora.language.service import HeadProvider, TextUnderstanding

__all__ = ["HeadProvider", "HeadResult", "TextHead", "TextUnderstanding"]
