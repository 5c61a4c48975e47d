"""Keyword normalisation of measurements and model numbers in product text.

Shoppers and catalogs write the same quantity many ways: a title says
``1/2 in. x 10 ft.``, a buyer types ``1/2 inch 10'`` or ``1/2in x 10ft``.
The keyword analyzer (``agora.index.analysis``) then sees different words,
or none at all: ``in`` is an English stopword, so ``1/2 in.`` keeps only the
digits. ``normalise_product_text`` rewrites a unit that follows a number to
one canonical word (``inch``, ``ft``, ``lb``, ...), splits glued dimensions
(``2x4`` -> ``2 x 4``, ``10ft`` -> ``10 ft``) and adds the joined form of
hyphenated model numbers (``MFF-GDAK3`` -> ``MFF-GDAK3 MFFGDAK3``) so a code
typed with or without its hyphen still matches, and adds the decimal of a
fraction (``1-1/2 in.`` -> ``... 1.5``) so ``1/2 in.`` meets ``0.5 inch``.
It must be applied to documents and queries alike, for the keyword retriever
only (dense encoders read the text as written): the ``product`` analyser of
``agora.index.analysis`` does, and the index records the analyser's version
so an index built without it is re-analysed rather than silently mismatched.
``benchmarks/generalisation_search.py`` measures it on Home Depot's tuning
queries.

Rules are deliberately narrow: a unit word counts only right after a number
(``2 in`` is a measure, ``made in USA`` is not), and ``in`` before another
number stays a word (``3-in-1``, ``2 in 1``).

Example:
    >>> normalise_product_text('1/2 in. x 10 ft. Pipe')
    '1/2 inch x 10 ft Pipe 0.5'
    >>> normalise_product_text("2x4x8 stud 8' 3-in-1")
    '2 x 4 x 8 stud 8 ft 3-in-1'
"""

from __future__ import annotations

import re

_NUM = r"(?<=\d)"  # a unit counts only right after a digit
_END = r"(?![\w-])"  # ... and as a whole word ("4 V-Groove" is no voltage)

# (pattern, canonical word); multi-word units first so "sq. ft." never reads as "ft".
_UNITS: tuple[tuple[str, str], ...] = (
    (r"(?:sq\.?|square)\s*(?:ft\.?|feet|foot)", "sqft"),
    (r"(?:cu\.?|cubic)\s*(?:ft\.?|feet|foot)", "cuft"),
    (r"(?:inches|inch|in\.|in(?!\s*-?\s*\d)|\")", "inch"),
    # "'." as "ft." reads: one pass leaves what a second pass would (idempotent).
    (r"(?:feet|foot|ft\.?|'\.?)", "ft"),
    (r"(?:pounds|pound|lbs\.?|lb\.?)", "lb"),
    (r"(?:gallons|gallon|gal\.?)", "gal"),
    (r"(?:ounces|ounce|oz\.?)", "oz"),
    (r"(?:volts|volt|v)", "volt"),
    (r"(?:watts|watt|w)", "watt"),
    (r"(?:amperes|ampere|amps|amp)", "amp"),
    (r"(?:millimeters|millimetres|millimeter|millimetre|mm)", "mm"),
    (r"(?:yards|yard|yd\.?)", "yd"),
)
_UNIT_RES = tuple(
    (re.compile(rf"{_NUM}\s*-?\s*{pattern}{_END}", re.IGNORECASE), f" {word}")
    for pattern, word in _UNITS
)
# Multi-word units also without a number ("price per sq. ft.").
_AREA_RES = tuple(
    (re.compile(rf"\b{pattern}{_END}", re.IGNORECASE), word) for pattern, word in _UNITS[:2]
)
# Only glued dimensions need splitting ("2 x 4" already is three words).
_DIMENSION = re.compile(r"(?<=\d)[x\u00d7](?=\d)", re.IGNORECASE)
# A code of letter/digit parts joined by "-"; a model number when a part
# mixes letters and digits (MFF-GDAK3) or letters lead and digits end (RC-0410),
# not a count with a word (2-Light, 3-in-1).
_CODE = re.compile(r"\b[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+\b")  # "." is a decimal point
_SPACES = re.compile(r"[ \t]+")
# A fraction of a measure, optionally after a whole number ("1-1/2", "2 3/4"):
# a denominator that rulers and fittings use, a numerator below it (no dates).
_FRACTION = re.compile(r"(?<![\w/.])(?:(\d{1,3})[- ])?(\d{1,2})/(\d{1,2})(?![\w/])")
_DENOMINATORS = frozenset({2, 3, 4, 8, 16, 32, 64})


def _decimals(text: str) -> list[str]:
    """Decimal forms of the fractions in ``text`` (``1-1/2`` -> ``1.5``)."""
    out = []
    for m in _FRACTION.finditer(text):
        whole, num, den = int(m.group(1) or 0), int(m.group(2)), int(m.group(3))
        if den in _DENOMINATORS and 0 < num < den:
            out.append(f"{round(whole + num / den, 4):g}")
    return out


def _joined_codes(text: str) -> list[str]:
    """Joined forms of the hyphenated model numbers in ``text``."""
    out = []
    for m in _CODE.finditer(text):
        code = m.group(0)
        parts = code.split("-")
        mixed = any(p.isalnum() and not (p.isalpha() or p.isdigit()) for p in parts)
        if mixed or (parts[0].isalpha() and parts[-1].isdigit()):
            out.append(code.replace("-", ""))
    return out


def _rewrite(text: str) -> str:
    out = _DIMENSION.sub(" x ", text)
    for pattern, word in _AREA_RES:
        out = pattern.sub(word, out)
    for pattern, word in _UNIT_RES:
        out = pattern.sub(word, out)
    return _SPACES.sub(" ", out).strip()


def normalise_product_text(text: str) -> str:
    """``text`` with units after numbers canonical, dimensions split and model
    numbers and fractions also joined or as decimals (see the module doc).
    Idempotent: forms already appended are set aside, so a second pass never
    rewrites them as measures."""
    words = text.split()
    appended = set(_joined_codes(text)) | set(_decimals(text))
    while words and words[-1] in appended:
        words.pop()
    body = _rewrite(" ".join(words))
    present = set(body.split())
    extra = dict.fromkeys([*_joined_codes(body), *_decimals(body)])
    missing = [c for c in extra if c not in present]
    return " ".join([body, *missing]) if missing else body
