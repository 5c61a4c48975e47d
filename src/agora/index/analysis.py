"""Text analysis for the keyword indexes: words, stopwords, Snowball stems, highlights.

Language-aware where it is cheap: a document or query in a language that
PyStemmer and bm25s have resources for is stemmed and stop-worded in that
language; anything else is lower-cased words only. Plurals meet their
singular through the stemmer (``pipes`` -> ``pipe``).

Two analysers (``SearchSettings.keyword_analyser``), each with a version the
index records so that documents and queries are never analysed differently:

- ``standard``: the above;
- ``product``: first ``agora.index.normalise`` (units after numbers in one
  canonical word, glued dimensions split, hyphenated model numbers also
  joined, fractions also as decimals), and decimals kept whole
  (``0.5`` is one term, not ``0`` and ``5``), so ``1/2 in.`` in a title and
  ``0.5 inch`` in a query share their terms.

Example:
    >>> Analyzer().terms("The red cars are racing", "en")
    ['red', 'car', 'race']
    >>> Analyzer("product").terms("1/2 in. Copper Pipes", "en")
    ['1', '2', 'inch', 'copper', 'pipe', '0.5']
    >>> Analyzer("product").terms("0.50 inch copper pipe", "en")
    ['0.5', 'inch', 'copper', 'pipe']
    >>> Analyzer().highlight("Red cars & vans", {"car"}, "en")
    'Red <mark>cars</mark> &amp; vans'
"""

from __future__ import annotations

import html
import re
import threading
from typing import Literal

import bm25s.stopwords as sw
import Stemmer

from agora.index.normalise import normalise_product_text

# ISO 639-1 -> (Snowball algorithm, stopword list).
LANGUAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "en": ("english", tuple(sw.STOPWORDS_EN)),
    "de": ("german", tuple(sw.STOPWORDS_GERMAN)),
    "fr": ("french", tuple(sw.STOPWORDS_FRENCH)),
    "es": ("spanish", tuple(sw.STOPWORDS_SPANISH)),
    "it": ("italian", tuple(sw.STOPWORDS_ITALIAN)),
    "pt": ("portuguese", tuple(sw.STOPWORDS_PORTUGUESE)),
    "nl": ("dutch", tuple(sw.STOPWORDS_DUTCH)),
    "sv": ("swedish", tuple(sw.STOPWORDS_SWEDISH)),
    "no": ("norwegian", tuple(sw.STOPWORDS_NORWEGIAN)),
    "da": ("danish", tuple(sw.STOPWORDS_DANISH)),
    "ru": ("russian", tuple(sw.STOPWORDS_RUSSIAN)),
    "tr": ("turkish", tuple(sw.STOPWORDS_TURKISH)),
}
DEFAULT_LANGUAGE = "en"
AnalyserName = Literal["standard", "product"]
# Bump a version whenever its terms change: an index built with another
# version is re-analysed from its stored text (``Bm25Index``, ``PgFullTextIndex``).
ANALYSER_VERSIONS: dict[str, str] = {"standard": "standard-1", "product": "product-1"}
# The analyser of indexes written before versions were recorded.
LEGACY_VERSION = "standard-1"
_WORD = re.compile(r"\w+", re.UNICODE)
# Product text: a decimal is one term (trailing zeros dropped), else words.
_PRODUCT_WORD = re.compile(r"\d+\.\d+|\w+", re.UNICODE)
_STOPWORDS = {code: frozenset(words) for code, (_, words) in LANGUAGES.items()}


def language_code(language: str | None) -> str:
    """``"de-AT"`` -> ``"de"``; None -> the default language."""
    if not language:
        return DEFAULT_LANGUAGE
    return language.split("-")[0].split("_")[0].lower()


def _decimal(word: str) -> str:
    """``0.50`` -> ``0.5``, ``2.0`` -> ``2``; other words as they are."""
    if "." not in word:
        return word
    return word.rstrip("0").rstrip(".") or "0"


class Analyzer:
    """Turns text into index terms. Thread-safe (stemmers are per thread)."""

    def __init__(self, name: AnalyserName = "standard") -> None:
        if name not in ANALYSER_VERSIONS:
            raise ValueError(f"unknown analyser {name!r}: use one of {sorted(ANALYSER_VERSIONS)}")
        self.name = name
        self.version = ANALYSER_VERSIONS[name]
        self._product = name == "product"
        self._local = threading.local()

    def words(self, text: str) -> list[str]:
        """Lower-cased words of ``text`` before stopwords and stems (product text
        normalised first)."""
        if not self._product:
            return [m.lower() for m in _WORD.findall(text)]
        return [_decimal(m.lower()) for m in _PRODUCT_WORD.findall(normalise_product_text(text))]

    def _stemmer(self, code: str) -> Stemmer.Stemmer | None:
        if code not in LANGUAGES:
            return None
        cache: dict[str, Stemmer.Stemmer] = self._local.__dict__.setdefault("stemmers", {})
        if code not in cache:
            cache[code] = Stemmer.Stemmer(LANGUAGES[code][0])
        return cache[code]

    def terms(self, text: str, language: str | None = None) -> list[str]:
        """Lower-cased words without stopwords, stemmed; single letters dropped."""
        code = language_code(language)
        stop = _STOPWORDS.get(code, frozenset())
        words = [w for w in self.words(text) if len(w) > 1 or w.isdigit()]
        words = [w for w in words if w not in stop]
        stemmer = self._stemmer(code)
        return list(stemmer.stemWords(words)) if stemmer else words

    def highlight(self, text: str, terms: set[str], language: str | None = None) -> str | None:
        """``text`` HTML-escaped with words whose stem is in ``terms`` wrapped in
        ``<mark>``; None when nothing matches."""
        stemmer = self._stemmer(language_code(language))
        out: list[str] = []
        last, matched = 0, False
        for m in (_PRODUCT_WORD if self._product else _WORD).finditer(text):
            word = m.group(0)
            low = _decimal(word.lower()) if self._product else word.lower()
            stem = stemmer.stemWord(low) if stemmer else low
            if stem in terms:
                out.append(html.escape(text[last : m.start()]))
                out.append(f"<mark>{html.escape(word)}</mark>")
                last, matched = m.end(), True
        if not matched:
            return None
        out.append(html.escape(text[last:]))
        return "".join(out)
