"""Text and image encoders over packaged weights, with micro-batching and a query cache.

Example:
    >>> from agora.encoders import text_encoder
    >>> enc = text_encoder("minilm")  # doctest: +SKIP
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
    ServedImageEncoder,
    ServedTextEncoder,
    conse_encoder,
    image_encoder,
    text_encoder,
)

__all__ = [
    "TEXT_PROFILES",
    "ConseEncoder",
    "EncoderInfo",
    "EncoderMismatch",
    "ImageEncoder",
    "ImageEncoding",
    "MicroBatcher",
    "QueryCache",
    "ServedImageEncoder",
    "ServedTextEncoder",
    "TextEncoder",
    "conse_encoder",
    "image_encoder",
    "text_encoder",
]
