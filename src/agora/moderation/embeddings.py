"""Sentence-embedding features for the text classifiers (the platform's MiniLM encoder).

TF-IDF n-grams see words and spellings; a sentence embedding sees meaning
(a slur-free hateful sentence, a paraphrased prize scam). The classifiers stack
a linear model on each (``agora.moderation.text_models``).

The encoder is the one search uses (all-MiniLM-L6-v2 int8 ONNX, from the
process's ``agora.encoders.Encoders``, which ``ModelProvider`` binds to the
models it serves), never pickled with a model: a model records the encoder
key it was trained with and refuses another. Unbound (a training run, a
benchmark), a model loads the encoder itself. Costs and caches:

* one text (a request) goes through the served encoder's LRU query cache, so
  a listing analysed by ``analyze-text`` and again by the pipeline is encoded
  once;
* texts are cut to ``MAX_CHARS`` at a word boundary: the training corpora are
  tweets and SMS (mostly under 200 characters), and the cut bounds the cost
  of a long description to that of a short passage;
* a training corpus is encoded in batches, with an optional on-disk cache
  (``cache_dir``, one ``.npz`` per encoder) keyed by a hash of each text, so
  retraining and benchmark runs encode only new texts.

Example:
    >>> feats = SentenceFeatures()  # doctest: +SKIP
    >>> feats.transform(["add my line id"]).shape  # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agora.encoders.factory import Encoders
from agora.encoders.text import truncate_words
from agora.errors import Conflict
from agora.mlops.artifact_state import VersionedState

MAX_CHARS = 300
_BATCH = 256


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class SentenceFeatures(VersionedState):
    """L2-normalised sentence embeddings of texts, from a served text encoder profile.

    Stored format 1: the profile, the text cut and the encoder key (never the
    encoder itself, which belongs to the process: ``encoders``, bound after loading).
    """

    def __init__(
        self, profile: str = "minilm", max_chars: int = MAX_CHARS, encoders: Encoders | None = None
    ) -> None:
        self.profile = profile
        self.max_chars = max_chars
        self.key: str | None = None  # the encoder key, set on first use
        self.encoders = encoders

    def _stored_state(self) -> dict[str, Any]:
        return {"profile": self.profile, "max_chars": self.max_chars, "key": self.key}

    def _encoder(self) -> Any:
        if self.encoders is None:  # not bound to a process's encoders: this model owns one
            self.encoders = Encoders()
        enc = self.encoders.text(self.profile)
        if self.key is None:
            self.key = enc.info.key
        elif enc.info.key != self.key:
            raise Conflict(
                f"model trained with encoder {self.key}, this process has {enc.info.key}"
            )
        return enc

    @property
    def dim(self) -> int:
        return int(self._encoder().info.dim)

    def transform(
        self,
        texts: Sequence[str],
        cache_dir: Path | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """(n, dim) float32 embeddings; small requests use the query cache.

        ``progress(done, total)`` follows a corpus's encoding batch by batch
        (texts already in ``cache_dir`` count as done at once).
        """
        enc = self._encoder()
        cut = [truncate_words(t, self.max_chars) for t in texts]
        # A request (or a pipeline batch already in the query cache, see ``prime``):
        # per-text LRU cache, micro-batched with others; the same vectors either way.
        if len(cut) <= 4 or _all_cached(enc, cut):
            return np.asarray(enc.encode_queries(cut), dtype=np.float32)
        return self._bulk(enc, cut, cache_dir, progress)

    def prime(self, texts: Sequence[str]) -> None:
        """Encode a batch of request texts in one call into the served encoder's
        query cache, so ``transform([text])`` of each is a lookup (the pipeline's
        batch path: one encoder call per batch, not per listing)."""
        if texts:
            self._encoder().encode_queries([truncate_words(t, self.max_chars) for t in texts])

    def _bulk(
        self,
        enc: Any,
        texts: list[str],
        cache_dir: Path | None,
        progress: Callable[[int, int], None] | None,
    ) -> np.ndarray:
        keys = [_digest(t) for t in texts]
        known = _read_cache(cache_dir, self.key) if cache_dir else {}
        todo = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in known}.items())
        unique = len(set(keys))
        cached = unique - len(todo)
        if progress is not None:
            progress(cached, unique)
        for start in range(0, len(todo), _BATCH):
            chunk = todo[start : start + _BATCH]
            # The model directly: a corpus is already a batch, nothing to merge.
            vecs = enc.model.encode_passages([t for _, t in chunk])
            known.update(
                {k: np.asarray(v, dtype=np.float32) for (k, _), v in zip(chunk, vecs, strict=True)}
            )
            if progress is not None:
                progress(cached + start + len(chunk), unique)
        if cache_dir and todo:
            _write_cache(cache_dir, self.key, known)
        return np.stack([known[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)


def _all_cached(enc: Any, texts: Sequence[str]) -> bool:
    """Whether every text's query vector is in the served encoder's cache."""
    cache = getattr(enc, "cache", None)
    if cache is None or len(texts) > 1024:
        return False
    return all(cache.get(enc.info.key, t) is not None for t in texts)


def _cache_path(cache_dir: Path, key: str | None) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(key))
    return Path(cache_dir) / f"embeddings-{safe}.npz"


def _read_cache(cache_dir: Path, key: str | None) -> dict[str, np.ndarray]:
    path = _cache_path(cache_dir, key)
    if not path.is_file():
        return {}
    try:
        with np.load(path) as data:
            return dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
    except (OSError, ValueError, KeyError):  # a torn or foreign file: re-encode
        return {}


def _write_cache(cache_dir: Path, key: str | None, known: dict[str, np.ndarray]) -> None:
    path = _cache_path(cache_dir, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = np.array(list(known), dtype="U32")
    vectors = np.stack(list(known.values())).astype(np.float32)
    # Written beside and renamed: a concurrent reader never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    with os.fdopen(fd, "wb") as fh:
        np.savez(fh, keys=keys, vectors=vectors)
    os.replace(tmp, path)


def _features_v1(state: dict[str, Any]) -> dict[str, Any]:
    # The encoders are never stored: whoever serves the model binds its own.
    return {**state, "encoders": None}


SentenceFeatures.STATE_LOADERS = {1: _features_v1}
