"""The API's view of search: a result as JSON, and decoding an uploaded picture.

Example:
    >>> from agora.search.base import SearchHit, SearchResult
    >>> hit = SearchHit("a1", 0.9, scores={"keyword": 7.1}, ranks={"keyword": 1})
    >>> result = SearchResult([hit], total=1, mode="keyword", offset=0, limit=20,
    ...                       models={"keyword": "bm25s@0.2"})
    >>> render(result, "tank")["hits"][0]["models"]
    {'keyword': 'bm25s@0.2'}
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from PIL import Image

from agora.errors import PayloadTooLarge, UnsupportedMediaType
from agora.search.base import SearchResult
from agora.search.fusion import Contribution


def explanation(contribs: Mapping[str, Contribution] | None) -> dict[str, Any] | None:
    """A hit's fusion contributions as JSON (unset parameters left out)."""
    if contribs is None:
        return None
    return {
        name: {k: v for k, v in asdict(c).items() if v is not None}
        for name, c in sorted(contribs.items())
    }


def render(result: SearchResult, query: str | None = None, explain: bool = False) -> dict[str, Any]:
    """JSON view of a result; each hit names the model versions of its retrievers.

    ``explain``: each hit also carries ``explain``, what every retriever added
    to its fused score (off by default: it triples a hit's size)."""
    return {
        "query": query,
        "mode": result.mode,
        "language": result.language,
        "total": result.total,
        "offset": result.offset,
        "limit": result.limit,
        "next_offset": result.next_offset,
        "degraded": result.degraded,
        "fallbacks": result.fallbacks,
        "models": result.models,
        "took_ms": result.took_ms,
        "did_you_mean": result.did_you_mean,
        "corrected_query": result.corrected_query,
        "hits": [
            {
                "id": h.id,
                "score": h.score,
                "scores": h.scores,
                "ranks": h.ranks,
                "models": {r: result.models[r] for r in h.scores if r in result.models},
                "highlights": h.highlights,
                "asset": h.asset,
            }
            | ({"explain": explanation(h.explain)} if explain else {})
            for h in result.hits
        ],
    }


def decode_image(data: bytes, max_pixels: int) -> Image.Image:
    """Decode an uploaded picture; refuse non-images and decompression bombs from the header."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.width * img.height > max_pixels:
                raise PayloadTooLarge(f"image has more than {max_pixels} pixels")
            img.draft("RGB", (448, 448))
            img.load()
    except PayloadTooLarge:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PayloadTooLarge("image is too large to decode") from None
    # Decoders raise anything on hostile bytes; all of it means "not a readable image".
    except Exception as exc:  # noqa: BLE001
        raise UnsupportedMediaType(f"the upload is not a readable image: {exc}") from None
    return img
