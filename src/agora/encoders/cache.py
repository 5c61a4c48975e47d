"""LRU caches of encoder outputs: query embeddings, and features by content hash.

``QueryCache`` maps ``(encoder key, query text)`` to its vector; ``FeatureCache``
maps ``(encoder key, content_key(...))`` of a passage or a decoded image to its
row, so the pipeline's steps share one encoding per content and model version.

Search traffic repeats itself (popular queries, pagination, typing-ahead), and a
query embedding costs 5-100 ms; a hit costs a dict lookup. The key includes the
encoder key so two profiles never share an entry.

Example:
    >>> import numpy as np
    >>> cache = QueryCache(max_entries=2)
    >>> cache.put("minilm@x", "red car", np.ones(3, dtype=np.float32))
    >>> cache.get("minilm@x", "red car").tolist()
    [1.0, 1.0, 1.0]
    >>> cache.get("e5@y", "red car") is None
    True
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image


class QueryCache:
    """Thread-safe bounded LRU map ``(encoder_key, text) -> vector`` (read-only arrays)."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, encoder_key: str, text: str) -> np.ndarray | None:
        with self._lock:
            vec = self._data.get((encoder_key, text))
            if vec is None:
                self.misses += 1
                return None
            self._data.move_to_end((encoder_key, text))
            self.hits += 1
            return vec

    def put(self, encoder_key: str, text: str, vector: np.ndarray) -> None:
        if self.max_entries <= 0:
            return
        vec = np.array(vector, dtype=np.float32, copy=True)
        vec.flags.writeable = False  # shared between callers: nobody may mutate it
        with self._lock:
            self._data[(encoder_key, text)] = vec
            self._data.move_to_end((encoder_key, text))
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


def content_key(data: bytes | str) -> str:
    """Digest that names a text or a picture in ``FeatureCache`` (128-bit blake2b).

    >>> content_key("red car") == content_key(b"red car")
    True
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def image_key(image: Image.Image) -> str:
    """``content_key`` of a decoded picture: mode, size and pixels (two decodes of
    the same blob, or the same pixels in two blobs, share one entry)."""
    head = f"{image.mode}:{image.size[0]}x{image.size[1]}:".encode()
    return content_key(head + image.tobytes())


class FeatureCache(QueryCache):
    """Per-process LRU of encoder outputs keyed by ``(encoder@version, content_key)``.

    The post-upload pipeline's steps (moderation, tagging, search indexing) and
    recommendations' content model ask the same served encoder for the same
    content: the first asks the model, the others read the row. Keying by the
    encoder's key means a new model version never reads an old vector; keying by
    a digest (not the text) keeps long passages and pixels out of memory. An
    update that leaves the text alone finds its passage vector here and is not
    re-encoded.
    """

    def get_many(self, encoder_key: str, keys: Sequence[str]) -> list[np.ndarray | None]:
        """The cached row of each key (None where absent), counted as hits/misses."""
        return [self.get(encoder_key, k) for k in keys]

    def put_many(self, encoder_key: str, keys: Sequence[str], rows: np.ndarray) -> None:
        """Remember one row per key."""
        for k, row in zip(keys, rows, strict=True):
            self.put(encoder_key, k, row)


def cached_rows(
    cache: FeatureCache,
    encoder_key: str,
    keys: Sequence[str],
    encode: Callable[[list[int]], np.ndarray],
    dim: int | None = None,
) -> np.ndarray:
    """Rows for ``keys``: cached ones read, the others from one ``encode(indexes)``
    call (indexes into ``keys``; a key repeated in the batch is encoded once).
    ``dim``: the row width when ``keys`` is empty (else taken from the rows)."""
    found = cache.get_many(encoder_key, keys)
    todo: dict[str, list[int]] = {}
    for i, (k, hit) in enumerate(zip(keys, found, strict=True)):
        if hit is None:
            todo.setdefault(k, []).append(i)
    if todo:
        rows = np.asarray(encode([idx[0] for idx in todo.values()]), dtype=np.float32)
        cache.put_many(encoder_key, list(todo), rows)
        for idx, row in zip(todo.values(), rows, strict=True):
            for i in idx:
                found[i] = row
    if not keys:
        return np.zeros((0, dim or 0), dtype=np.float32)
    return np.stack([np.asarray(r, dtype=np.float32) for r in found])
