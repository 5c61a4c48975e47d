"""``did_you_mean``: a spelling of a query from the catalog's own words.

The dictionary is the catalog itself: every word of the titles and tags of
visible assets, with the number of assets using it, so a suggestion always
names something that is for sale (``tnak`` -> ``tank`` in a game-asset store,
never a word from a general English list). Titles and tags are the names
buyers type; descriptions would multiply the build cost by ~10 and bring
sellers' own typos into the dictionary.

A query word is corrected when it is not in the dictionary, is not a
stopword, and a dictionary word lies within its edit budget (Elasticsearch's
``fuzziness: AUTO``: none up to 2 characters, 1 edit up to 5, 2 beyond);
among candidates the fewest edits win, then the most used word. Edits are
optimal-string-alignment distances (Damerau-Levenshtein with adjacent
transpositions, ``tnak`` -> ``tank`` is one edit) from RapidFuzz, whose C++
scan over ~40k words takes a few milliseconds and runs only on the rare
queries that matched nothing. SymSpell (``symspellpy``) answers faster from a
precomputed index of deletions, but that index takes seconds of GIL-holding
Python to build and would need rebuilding as the catalog changes; a plain
scan needs no index beyond the word counts.

Words with a digit (sizes, model numbers: ``2x4``, ``gdak3``) are never
corrected: a code one edit from another code is another product.

``autocorrect`` is the stricter form search applies before it retrieves
(``SearchSettings.autocorrect``; the response's ``corrected_query``): only
words the keyword index does not contain *and* that are no word of the
language (``agora.search.lexicon``) are corrected, so a correctly spelt word
is never changed, even one the catalog lacks ("armoured" stays for the
semantic retriever). Home Depot's tuning queries chose it
(``benchmarks/generalisation_search.py``).

The dictionary is built on first use and rebuilt in the background once older
than ``max_age_s`` (``SearchSettings.vocabulary_max_age_s``), serving the
previous one meanwhile.

Example:
    >>> speller = Speller(lambda: {"tank": 3, "red": 5, "coin": 2})
    >>> speller.suggest("red tnak")
    'red tank'
    >>> speller.suggest("zzzqqqxx") is None
    True
    >>> speller.autocorrect("red tnak", "en", unknown=["tnak"])
    'red tank'
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Collection, Mapping

from rapidfuzz import process
from rapidfuzz.distance import OSA

from agora.index.analysis import LANGUAGES, language_code
from agora.search.lexicon import known_words

log = logging.getLogger("agora.search.spelling")
_WORD = re.compile(r"\w+", re.UNICODE)
MEMO_SIZE = 10_000


def edit_budget(word: str) -> int:
    """Edits allowed for a word of this length (``fuzziness: AUTO``)."""
    return 0 if len(word) <= 2 else 1 if len(word) <= 5 else 2


def correctable(word: str) -> bool:
    """Whether a word may be corrected at all: no digit in it (sizes, codes)."""
    return not any(c.isdigit() for c in word)


def words_of(text: str) -> list[str]:
    """Lower-cased words of ``text`` (the dictionary's and the queries' tokens)."""
    return [w.lower() for w in _WORD.findall(text)]


class Speller:
    """Suggests corrections from a word -> count dictionary, refreshed as the catalog changes."""

    def __init__(self, words: Callable[[], Mapping[str, int]], *, max_age_s: float = 300.0) -> None:
        self._source = words
        self.max_age_s = max_age_s
        self._dictionary: _Dictionary | None = None
        self._built_at = 0.0
        self._lock = threading.Lock()
        self._refreshing = False

    def _build(self) -> None:
        dictionary = _Dictionary(self._source())
        with self._lock:
            self._dictionary, self._built_at = dictionary, time.monotonic()
        log.debug("spelling dictionary: %d words", len(dictionary.counts))

    def _background(self) -> None:
        try:
            self._build()
        except Exception:  # keep the previous dictionary
            log.exception("spelling dictionary refresh failed")
        finally:
            self._refreshing = False

    def _current(self) -> _Dictionary:
        if self._dictionary is None:
            self._build()
        elif time.monotonic() - self._built_at > self.max_age_s and not self._refreshing:
            self._refreshing = True
            threading.Thread(target=self._background, daemon=True).start()
        with self._lock:
            assert self._dictionary is not None
            return self._dictionary

    def correct(self, word: str) -> str | None:
        """The dictionary word closest to ``word`` within its edit budget, if any."""
        return self._current().correct(word)

    def suggest(
        self, text: str, language: str | None = None, *, only: Collection[str] | None = None
    ) -> str | None:
        """``text`` with its unknown words corrected; None when nothing was corrected.
        ``only``: correct just these words (those the keyword index does not know)."""
        stop = set(LANGUAGES.get(language_code(language), ("", ()))[1])
        wanted = None if only is None else {w.lower() for w in only}
        out: list[str] = []
        last, changed = 0, False
        for m in _WORD.finditer(text):
            word = m.group(0).lower()
            skip = (
                word in stop or not correctable(word) or (wanted is not None and word not in wanted)
            )
            fixed = None if skip else self.correct(word)
            if fixed is not None and fixed != word:
                out += [text[last : m.start()], fixed]
                last, changed = m.end(), True
        if not changed:
            return None
        out.append(text[last:])
        return "".join(out)

    def autocorrect(
        self, text: str, language: str | None, *, unknown: Collection[str]
    ) -> str | None:
        """``text`` with the ``unknown`` words (those the keyword index lacks) that
        are no word of the language corrected; None when nothing changed."""
        lexicon = known_words()
        wanted = [w for w in unknown if w.lower() not in lexicon]
        return self.suggest(text, language, only=wanted) if wanted else None


class _Dictionary:
    """One build of the dictionary: counts, words by length, remembered corrections."""

    def __init__(self, counts: Mapping[str, int]) -> None:
        self.counts = dict(counts)
        self.by_length: dict[int, list[str]] = {}
        for w in sorted(self.counts):
            self.by_length.setdefault(len(w), []).append(w)
        # Unknown words recur (a brand the store does not carry): remember answers.
        self._memo: dict[str, str | None] = {}
        self._memo_lock = threading.Lock()

    def correct(self, word: str) -> str | None:
        budget = edit_budget(word)
        if budget == 0 or word in self.counts:
            return None
        with self._memo_lock:
            if word in self._memo:
                return self._memo[word]
        # k edits change the length by at most k: scan only those lengths.
        choices = [
            w
            for n in range(len(word) - budget, len(word) + budget + 1)
            for w in self.by_length.get(n, ())
        ]
        found = process.extract(word, choices, scorer=OSA.distance, score_cutoff=budget, limit=None)
        best = min(found, key=lambda m: (m[1], -self.counts[m[0]], m[0]))[0] if found else None
        with self._memo_lock:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[word] = best
        return best
