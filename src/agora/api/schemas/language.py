"""Text understanding (``analyze-text``'s sentiment, emotion and intent) and auto-reply."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from agora.api.schemas.common import RequestModel, ResponseModel
from agora.api.schemas.moderation import TextAnalysisRequest, TextVerdict

Sentiment = Literal["negative", "neutral", "positive"]
Emotion = Literal["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]
ChatIntent = Literal["question", "statement", "command", "complaint", "praise", "request"]
"""Seed 003's IntentRecognizer classes (``agora.language.datasets.CHAT_INTENTS``)."""


class HeadAnswer(ResponseModel):
    """One trained head's answer."""

    label: str
    confidence: float = Field(description="The label's probability.")
    scores: dict[str, float] = Field(description="Probability per class (fine intents: top 5).")
    model: str = Field(description="`name@version` in the model store.")


class SentimentAnswer(HeadAnswer):
    """Negative, neutral or positive, with the three probabilities."""

    label: Sentiment


class EmotionAnswer(ResponseModel):
    """One of the 7 MELD emotions; the class probabilities read as intensities."""

    label: Emotion
    confidence: float
    intensities: dict[str, float] = Field(description="Probability per emotion (sums to 1).")
    model: str


class IntentAnswer(HeadAnswer):
    """One of the seed's 6 chat intents."""

    label: ChatIntent


class TextAnalysis(TextVerdict):
    """The moderation verdict plus sentiment, emotion, intents; a head without a
    trained champion is null and named in ``heads_unavailable``."""

    sentiment: SentimentAnswer | None
    emotion: EmotionAnswer | None
    intent: IntentAnswer | None
    fine_intent: HeadAnswer | None = Field(
        description="A CLINC150 intent (150 classes) or `oos` (out of scope)."
    )
    heads_unavailable: list[str]


TextItem = Annotated[str, StringConstraints(min_length=1, pattern=r"\S")]


class TextBatchRequest(RequestModel):
    """``POST /api/v1/analyze-text:batch``: comments or reviews, analysed together
    (one encoder call for all)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"texts": ["Love it!", "Arrived broken, no reply."]}]}
    )
    texts: list[TextItem] = Field(min_length=1, description="At most `language.max_batch_texts`.")


class TextBatchResponse(ResponseModel):
    """One analysis per text, in the request's order."""

    results: list[TextAnalysis]


__all__ = [
    "EmotionAnswer",
    "HeadAnswer",
    "IntentAnswer",
    "SentimentAnswer",
    "TextAnalysis",
    "TextAnalysisRequest",
    "TextBatchRequest",
    "TextBatchResponse",
]
