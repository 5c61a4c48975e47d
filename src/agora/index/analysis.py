"""Text analysis for the embedded keyword index: words, stopwords, Snowball stems, highlights.

Language-aware where it is cheap: a document or query in a language that
PyStemmer and bm25s have resources for is stemmed and stop-worded in that
language; anything else is lower-cased words only.

Example:
    >>> Analyzer().terms("The red cars are racing", "en")
    ['red', 'car', 'race']
    >>> Analyzer().highlight("Red cars & vans", {"car"}, "en")
    'Red <mark>cars</mark> &amp; vans'
"""

from __future__ import annotations

import html
import re
import threading

import bm25s.stopwords as sw
import Stemmer

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
_WORD = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = {code: frozenset(words) for code, (_, words) in LANGUAGES.items()}


def language_code(language: str | None) -> str:
    """``"de-AT"`` -> ``"de"``; None -> the default language."""
    if not language:
        return DEFAULT_LANGUAGE
    return language.split("-")[0].split("_")[0].lower()


class Analyzer:
    """Turns text into index terms. Thread-safe (stemmers are per thread)."""

    def __init__(self) -> None:
        self._local = threading.local()

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
        words = [w for w in (m.lower() for m in _WORD.findall(text)) if len(w) > 1 or w.isdigit()]
        words = [w for w in words if w not in stop]
        stemmer = self._stemmer(code)
        return list(stemmer.stemWords(words)) if stemmer else words

    def highlight(self, text: str, terms: set[str], language: str | None = None) -> str | None:
        """``text`` HTML-escaped with words whose stem is in ``terms`` wrapped in
        ``<mark>``; None when nothing matches."""
        stemmer = self._stemmer(language_code(language))
        out: list[str] = []
        last, matched = 0, False
        for m in _WORD.finditer(text):
            word = m.group(0)
            stem = stemmer.stemWord(word.lower()) if stemmer else word.lower()
            if stem in terms:
                out.append(html.escape(text[last : m.start()]))
                out.append(f"<mark>{html.escape(word)}</mark>")
                last, matched = m.end(), True
        if not matched:
            return None
        out.append(html.escape(text[last:]))
        return "".join(out)
