"""Text and image encoders over packaged weights, with micro-batching and a query cache.

Example:
    >>> from agora.encoders import Encoders
    >>> enc = Encoders().text("minilm")  # doctest: +SKIP
    >>> enc.encode_queries(["red car"]).shape  # doctest: +SKIP
    (1, 384)
"""

from agora.encoders.base import (
    EncoderInfo,
    EncoderMismatch,
    ImageEncoder,
    ImageEncoding,
    TextEncoder,
)
from agora.encoders.batching import MicroBatcher
from agora.encoders.cache import QueryCache
from agora.encoders.conse import ConseEncoder
from agora.encoders.factory import (
    TEXT_PROFILES,
    Encoders,
    ServedImageEncoder,
    ServedTextEncoder,
)

__all__ = [
    "TEXT_PROFILES",
    "ConseEncoder",
    "EncoderInfo",
    "EncoderMismatch",
    "Encoders",
    "ImageEncoder",
    "ImageEncoding",
    "MicroBatcher",
    "QueryCache",
    "ServedImageEncoder",
    "ServedTextEncoder",
    "TextEncoder",
]
