# ruff: noqa: RUF001, RUF002, E501  (look-alike letters are the point of this module)
"""Text normalisation before rule matching: defeat the usual obfuscations.

Sellers who want to move a buyer off the platform write ``l1ne`` for *line*,
``0 8 1 - 2 3 4 ...`` with spaces between digits, full-width or Cyrillic
look-alike letters (``Wһatsapp`` with a Cyrillic ``һ``), zero-width spaces,
or ``w.h.a.t.s.a.p.p``. Rules run on two normalised views of the text:

* ``letters``: NFKC, casefolded, zero-width characters removed, look-alike
  letters mapped to Latin, leetspeak digits mapped to letters, separators
  between single characters collapsed (``l i n e`` -> ``line``);
* ``digits``: NFKC (which maps full-width and other Unicode decimal digits),
  every separator removed between digits, so a spaced or dotted phone number
  becomes one run of digits; spelled digits in a few languages are mapped.

Example:
    >>> normalize("Add my L 1 N E: shop_99").letters
    'add my line: shop_99'
    >>> normalize("call 0 8 1-2 3 4.5 6 7 8").digits
    'call 0812345678'
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Characters that render as nothing or as a space and are used to split words.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"), None)

# Look-alike letters (Cyrillic, Greek, a few symbols) -> Latin. NFKC handles
# full-width and mathematical alphanumerics; these are the cross-script ones.
_CONFUSABLES = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "һ": "h", "і": "i", "ј": "j",
        "ԁ": "d", "ѕ": "s", "ԛ": "q", "ԝ": "w", "ɡ": "g", "ɩ": "i", "ℓ": "l",
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
        "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w",
    }
)  # fmt: skip

# Leetspeak applied only inside words that also contain letters, so prices
# and phone numbers keep their digits in the ``letters`` view.
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "l"})  # fmt: skip
_LEET_WORD = re.compile(r"[a-z0-9@$!|]*[a-z][a-z0-9@$!|]*|[0-9@$!|]*[a-z][a-z0-9@$!|]*")
# "l1ne" and "1ine" both mean line: in these words a 1 is an l, not an i.
_L_WORDS = {"iine": "line", "ine": "line", "teiegram": "telegram", "iinee": "line"}

# Single characters separated by spaces, dots, dashes, underscores or stars:
# "l i n e", "w.h.a.t.s.a.p.p", "t-e-l-e-g-r-a-m".
# The letters exclude "_", which is a separator here: with "\w" a line of
# underscores ("______") backtracked exponentially (a description could stall
# the analyser for minutes).
_SPACED = re.compile(r"(?<![\w])(?:[^\W_][\s.\-_*·•]+){2,}[^\W_](?![\w])")
_SEP = re.compile(r"[\s.\-_*·•]+")
# Separators between digits: spaces, dots, dashes, slashes, parentheses.
_DIGIT_SEP = re.compile(r"(?<=\d)[\s.\-/()·•_]{1,3}(?=\d)")
_SPACES = re.compile(r"\s+")

# Spelled digits (English, Spanish, Indonesian/Malay, Thai) seen in listings
# that hide a phone number from naive filters.
_SPELLED = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9",
    "cero": "0", "uno": "1", "dos": "2", "tres": "3", "cuatro": "4", "cinco": "5",
    "seis": "6", "siete": "7", "ocho": "8", "nueve": "9",
    "nol": "0", "satu": "1", "dua": "2", "tiga": "3", "empat": "4", "lima": "5",
    "enam": "6", "tujuh": "7", "delapan": "8", "sembilan": "9",
    "ศูนย์": "0", "หนึ่ง": "1", "สอง": "2", "สาม": "3", "สี่": "4", "ห้า": "5",
    "หก": "6", "เจ็ด": "7", "แปด": "8", "เก้า": "9",
}  # fmt: skip
_SPELLED_RE = re.compile(
    r"(?<![^\W\d_])("
    + "|".join(sorted(map(re.escape, _SPELLED), key=len, reverse=True))
    + r")(?![^\W\d_])"
)


@dataclass(frozen=True)
class NormalizedText:
    """The views rules match against, plus the casefolded original."""

    original: str
    folded: str
    letters: str
    digits: str


def _base(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    # Combining marks added to hide a word ("l̲i̲n̲e̲") are dropped; accents in
    # real words are kept by recomposing.
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn" or ord(c) > 0x0E00)
    return unicodedata.normalize("NFC", stripped).casefold()


def _collapse_spaced(text: str) -> str:
    # Two or more spaces inside a spaced run separate words ("a d d  m e").
    return _SPACED.sub(
        lambda m: " ".join(_SEP.sub("", w) for w in re.split(r"\s{2,}", m.group(0))), text
    )


def _deleet(word: str) -> str:
    if not any(c.isdigit() or c in "@$!|" for c in word) or word.isdigit():
        return word
    if word.startswith("@"):  # a handle: keep its @, undo leetspeak after it
        return "@" + _deleet(word[1:]) if len(word) > 1 else word
    plain = word.translate(_LEET)
    return _L_WORDS.get(plain, plain)


def letters_view(folded: str) -> str:
    """Look-alikes to Latin, spaced letters collapsed, leetspeak undone."""
    text = _collapse_spaced(folded.translate(_CONFUSABLES))
    text = _LEET_WORD.sub(lambda m: _deleet(m.group(0)), text)
    return _SPACES.sub(" ", text).strip()


def spelled_digits(folded: str) -> str:
    """Look-alikes to Latin and spelled digits to digits; separators kept.

    >>> spelled_digits("call zero eight one-2")
    'call 0 8 1-2'
    """
    return _SPELLED_RE.sub(lambda m: _SPELLED[m.group(1)], folded.translate(_CONFUSABLES))


def digits_view(folded: str) -> str:
    """Spelled digits to digits; separators between digits removed."""
    text = spelled_digits(folded)
    # Spelled digits come out space-separated ("8 1 2"): join them, twice so
    # that overlapping separators ("1 - 2") go too.
    for _ in range(2):
        text = _DIGIT_SEP.sub("", text)
    return _SPACES.sub(" ", text).strip()


def normalize(text: str) -> NormalizedText:
    """All views of ``text`` used by the rules."""
    folded = _base(text)
    return NormalizedText(
        original=text, folded=folded, letters=letters_view(folded), digits=digits_view(folded)
    )
