"""Asset embeddings for the content recommender, read from the search capability's indexes.

``asset_text`` holds one vector per asset, ``asset_image`` one per image
(``<asset id>#0`` is the first). An asset's content vector is its normalised
text vector and first-image vector side by side, each scaled by 1/sqrt(2);
a missing half is zeros. When the indexes are absent or down, the result is
empty and the caller degrades (content recommendations are simply not
offered, and the reason is logged), never invented.

Example:
    >>> v = combine(np.array([3.0, 4.0]), None)
    >>> [round(float(x), 3) for x in v]
    [0.424, 0.566]
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from agora.search.backends import SearchBackends

log = logging.getLogger(__name__)
TEXT_INDEX = "asset_text"
IMAGE_INDEX = "asset_image"
_HALF = 1.0 / math.sqrt(2.0)


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def combine(text: np.ndarray | None, image: np.ndarray | None, image_dim: int = 0) -> np.ndarray:
    """Concatenate normalised text and image halves (zeros stand in for a missing half)."""
    t = _unit(np.asarray(text, np.float32)) if text is not None else None
    i = _unit(np.asarray(image, np.float32)) if image is not None else None
    if t is not None and i is None and image_dim == 0:
        return t * _HALF
    parts = [t if t is not None else np.zeros(0, np.float32)]
    parts.append(i if i is not None else np.zeros(image_dim, np.float32))
    return np.concatenate(parts) * _HALF


def asset_embeddings(backends: SearchBackends, asset_ids: Sequence[str]) -> dict[str, np.ndarray]:
    """Content vectors of the assets that have one; {} when the indexes are unavailable."""
    try:
        text = backends.vector(TEXT_INDEX).get(list(asset_ids)) if asset_ids else {}
        rows = backends.vector(IMAGE_INDEX).get([f"{a}#0" for a in asset_ids]) if asset_ids else {}
    # An absent or broken index (any backend error) must not stop training.
    except Exception as exc:  # noqa: BLE001
        log.warning("asset embeddings unavailable, content recommendations off: %s", exc)
        return {}
    image = {k.rpartition("#")[0]: v for k, v in rows.items()}
    text_dim = len(next(iter(text.values()))) if text else 0
    image_dim = len(next(iter(image.values()))) if image else 0
    out: dict[str, np.ndarray] = {}
    for a in asset_ids:
        t, i = text.get(a), image.get(a)
        if t is None and i is None:
            continue
        t_part = t if t is not None else np.zeros(text_dim, np.float32)
        out[a] = combine(t_part if text_dim else None, i, image_dim)
    return out
