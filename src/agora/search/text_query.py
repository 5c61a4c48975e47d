"""One text query's retrieval across the pool's depths, with the fallbacks it took.

The query is embedded once; each depth then asks the text and ConSE vector
indexes and the keyword index. When the vector side fails (encoder or index),
the query is answered from the keyword index alone, flagged
``vector_down_keyword_only``; when the keyword index fails in hybrid mode, the
vector lists answer (``keyword_down_vector_only``). A side that failed stays
off for the deeper steps of the same query, so one query is never ranked
partly with and partly without it by surprise. Both are counted in
``agora_fallbacks_total``.

Example:
    >>> run = TextRetrieval(search, query, language="en", allowed=None)  # doctest: +SKIP
    >>> run.lists(200)["keyword"].ranked[:1]  # doctest: +SKIP
    [('a1', 7.31)]
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from agora.errors import BackendUnavailable
from agora.ops.fallbacks import count_fallback
from agora.search.backends import CONSE_INDEX, TEXT_INDEX, SearchBackends, image_key
from agora.search.base import FALLBACK_KEYWORD_DOWN, FALLBACK_VECTOR_DOWN, SearchQuery
from agora.search.hits import keyword_model
from agora.search.lexicon import has_known_word
from agora.search.retrievers import Found, floored, floored_images

if TYPE_CHECKING:
    from agora.search.service import HybridSearch

log = logging.getLogger("agora.search")
_WORDS = re.compile(r"\w+", re.UNICODE)
# Each asset may have several images: ask the per-image indexes for more rows.
IMAGES_PER_ASSET = 3
# Highlights for the returned page's ids, computed after the page is known.
PageMarks = Callable[[list[str]], Mapping[str, dict[str, str]]]


def record_fallback(kind: str, exc: BaseException) -> None:
    """Log a fallback and count it in ``agora_fallbacks_total{kind}``."""
    log.warning("search fallback %s: %s: %s", kind, type(exc).__name__, exc)
    count_fallback(kind)


def image_rows(allowed: Mapping[str, int] | None) -> set[str] | None:
    """Per-image row ids of the allowed assets (None: no allow-list)."""
    if allowed is None:
        return None
    return {image_key(a, n) for a, count in allowed.items() for n in range(count)}


def keyword_evidence(
    backends: SearchBackends, text: str, language: str | None
) -> tuple[bool, list[str] | None]:
    """Whether a word of ``text`` occurs in the catalog, and the words that do not
    (None when the backend cannot tell). True when the keyword index is down:
    the lenient floor applies then."""
    try:
        index = backends.keyword()
        presence = getattr(index, "word_presence", None)
        if presence is None:  # a backend without a vocabulary: one cheap search,
            # any word matching (websearch syntax: PostgreSQL ANDs bare words).
            anyword = " or ".join(_WORDS.findall(text))
            return bool(anyword and index.search(anyword, 1, language=language)), None
        words: dict[str, bool] = presence(text, language=language)
        return any(words.values()), [w for w, known in words.items() if not known]
    # Any keyword-backend failure: count the query as evidenced rather than fail search.
    except Exception as exc:  # noqa: BLE001
        log.warning("search: keyword evidence unavailable: %s: %s", type(exc).__name__, exc)
        return True, None


def query_evidence(
    backends: SearchBackends, text: str, language: str | None
) -> tuple[bool, list[str] | None]:
    """Keyword evidence, or language evidence (a real word: ``agora.search.lexicon``),
    and the words the catalog lacks (for ``did_you_mean``)."""
    found, unknown = keyword_evidence(backends, text, language)
    return found or has_known_word(text), unknown


class TextRetrieval:
    """The retriever lists of one ``SearchQuery`` at any depth, and what they used."""

    def __init__(
        self,
        search: HybridSearch,
        query: SearchQuery,
        *,
        language: str | None,
        allowed: Mapping[str, int] | None,
    ) -> None:
        self.search, self.query, self.language, self.allowed = search, query, language, allowed
        self.models: dict[str, str] = {}
        self.fallbacks: list[str] = []
        self.marks: dict[str, dict[str, str]] = {}
        self.page_marks: PageMarks | None = None
        self._matched: set[str] = set()
        # did_you_mean cues: the keyword index ran and matched nothing; the query
        # words no indexed document contains (None: the backend cannot tell).
        self.keyword_missed = False
        self.unknown_words: list[str] | None = None
        self._evidence: bool | None = None
        self.vectors_on = query.mode in ("hybrid", "semantic")
        self.keyword_on = query.mode in ("hybrid", "keyword")
        self._vec: np.ndarray | None = None
        if self.vectors_on:
            try:
                encoder = search.backends.text_encoder()
                # The served encoder caches query embeddings and micro-batches concurrent ones.
                self._vec = encoder.encode_queries([query.text])[0]
                self.models["text"] = encoder.info.key
            # Any encoder failure: search answers from keywords (the fallback is counted).
            except Exception as exc:  # noqa: BLE001
                self._vectors_failed(exc)

    def _vectors_failed(self, exc: BaseException) -> None:
        record_fallback(FALLBACK_VECTOR_DOWN, exc)
        self.fallbacks.append(FALLBACK_VECTOR_DOWN)
        self.vectors_on, self.keyword_on = False, True
        for name in ("text", "conse"):
            self.models.pop(name, None)

    def evidence(self) -> bool:
        """Whether a query word occurs in the catalog or is a real word (see
        ``agora.search.retrievers``). Asked once per query; when the keyword
        index cannot tell (it is down), the lenient floor applies."""
        if self._evidence is None:
            self._evidence = self._probe()
        return self._evidence

    def _probe(self) -> bool:
        found, self.unknown_words = query_evidence(
            self.search.backends, self.query.text, self.language
        )
        return found

    def lists(self, depth: int) -> dict[str, Found]:
        """Every retriever's list at ``depth``, floored."""
        evidence = self.evidence()
        out: dict[str, Found] = {}
        if self.vectors_on:
            try:
                out = self._vector_lists(depth, evidence)
            # Any vector failure: answer from keywords.
            except Exception as exc:  # noqa: BLE001
                self._vectors_failed(exc)
                out = {}
        if self.keyword_on:
            try:
                out["keyword"] = self._keyword_list(depth)
            except Exception as exc:
                if not out:
                    raise BackendUnavailable(f"no search backend answered: {exc}") from exc
                record_fallback(FALLBACK_KEYWORD_DOWN, exc)
                self.fallbacks.append(FALLBACK_KEYWORD_DOWN)
                self.keyword_on = False
                self.models.pop("keyword", None)
        return out

    def _vector_lists(self, depth: int, evidence: bool) -> dict[str, Found]:
        assert self._vec is not None
        search, floors = self.search, self.search.floors
        key = self.models["text"]
        allowed: Collection[str] | None = self.allowed
        rows = search.nearest(search.backends.vector(TEXT_INDEX), self._vec, depth, key, allowed)
        lists = {"text": floored(rows, depth, floors.get("text", evidence=evidence))}
        if self.query.include_images and search.settings.fusion_weights.get("conse", 0.0) > 0:
            bridge = search.backends.conse().info
            k = depth * IMAGES_PER_ASSET
            index = search.backends.vector(CONSE_INDEX)
            rows = search.nearest(index, self._vec, k, bridge.index_key, image_rows(self.allowed))
            lists["conse"] = floored_images([rows], k, floors.get("conse", evidence=evidence))
            self.models["conse"] = bridge.key
        return lists

    def _keyword_list(self, depth: int) -> Found:
        index = self.search.backends.keyword()
        text, language = self.query.text, self.language
        self.models["keyword"] = keyword_model(index)
        highlight = getattr(index, "highlight", None)
        if highlight is None:  # a backend that marks every hit as it scores
            hits = index.search(text, depth, allowed=self.allowed, language=language)
            self.marks |= {h.id: h.highlights for h in hits}
        else:
            # Marking is most of BM25's cost at depth 200: mark the returned page only.
            bare = cast(Any, index).search  # Bm25Index: scoring without marking
            hits = bare(text, depth, allowed=self.allowed, language=language, highlights=False)
            self._matched |= {h.id for h in hits}
            matched = self._matched

            def page_marks(ids: list[str]) -> Mapping[str, dict[str, str]]:
                found: Mapping[str, dict[str, str]] = highlight(
                    text, [i for i in ids if i in matched], language=language
                )
                return found

            self.page_marks = page_marks
        self.keyword_missed = not hits
        return floored([(h.id, h.score) for h in hits], depth, self.search.floors.get("keyword"))
