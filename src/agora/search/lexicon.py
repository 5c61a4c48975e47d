"""Language evidence: whether a query is made of words at all.

Keyword evidence (a query word occurs in the catalog) lets a dense retriever
answer with the lenient floor; without it the strict floor keeps gibberish
out (see ``agora.search.retrievers``). But a synonym query whose words the
catalog never uses ("armoured vehicle" for tanks) is exactly what semantic
search is for, and the strict floor dropped it. So a query with a real word
of the language, one the English text encoder's tokenizer knows whole (not
split into pieces, not a stopword), counts as evidence too: 21,361 such words,
which 0.1 % of random letter strings hit.

Example:
    >>> has_known_word("armoured vehicle"), has_known_word("zzzqqqxx the")
    (True, False)
"""

from __future__ import annotations

import functools
import json
import re

from bm25s.stopwords import STOPWORDS_EN

from agora.encoders.text import MINILM_TOKENIZER

_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)
MIN_LENGTH = 3


@functools.cache
def known_words() -> frozenset[str]:
    """The MiniLM tokenizer's whole words (alphabetic, 3+ letters, no stopwords)."""
    vocab = json.loads(MINILM_TOKENIZER.read_text(encoding="utf-8"))["model"]["vocab"]
    stop = frozenset(STOPWORDS_EN)
    return (
        frozenset(
            w for w in vocab if not w.startswith("##") and w.isalpha() and len(w) >= MIN_LENGTH
        )
        - stop
    )


def has_known_word(text: str) -> bool:
    """Whether ``text`` holds a word of the language (see the module doc)."""
    words = known_words()
    return any(w in words for w in _WORDS.findall(text.lower()) if len(w) >= MIN_LENGTH)
