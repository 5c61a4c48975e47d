"""Phone numbers in listing text, told apart from product codes by their context.

A run of 9 to 13 digits is not a phone number by itself: product text is full
of UPC/EAN barcodes, ISBNs, SKUs, model and item numbers ("UPC 036000291452",
"Broan-NuTone 41000/46000", "Coast HL47 1000-327-851"). A run counts only in
a phone-like context:

* written the way people write phone numbers: an international ``+`` prefix,
  North American grouping (``(555) 123-4567``, ``1-800-555-1234``), or a
  national trunk ``0`` followed by groups (``0812-3456-7890``,
  ``07911 123456``);
* obfuscated the way sellers hide one from filters: five or more single
  digits apart (``0 8 1 - 2 3 4``) or spelled digits (``zero eight one``);
* or next to a word that says so: *call*, *phone*, *tel*, *text*, *WhatsApp*,
  *contact*, *โทร*, *电话* ... (:data:`PHONE_WORDS`).

And never when it is a product code: a label just before it (*UPC*, *EAN*,
*ISBN*, *SKU*, *model*, *item #*, *part no.* ...: :data:`CODE_LABEL`), or a
bare unsigned run of 8, 12, 13 or 14 digits whose last digit is a valid
GS1 check digit (UPC-A, EAN-13, ISBN-13, GTIN-14). A 12-digit phone number
written as one bare run passes that check one time in ten and is missed: a
number written with ``+`` or in groups is not a bare run and is still caught.

Example:
    >>> from agora.moderation.normalize import normalize
    >>> find_phone_number(normalize("Call or text 0812 345 678 for the full version").folded)
    '0812 345 678'
    >>> find_phone_number(normalize("Replacement filter, UPC 036000291452").folded) is None
    True
"""

from __future__ import annotations

import re

from agora.moderation.normalize import spelled_digits

MIN_DIGITS, MAX_DIGITS = 9, 13
# How far around a number a phone word may stand (characters of folded text).
WORD_BEFORE, WORD_AFTER = 30, 20
LABEL_BEFORE = 24

# A maximal run of digits joined by up to three separators, with an optional
# leading "+" or "(". Separators as in the digits view (normalize).
_RUN = re.compile(r"(?<![\w+])(?:\+\s?)?\(?\d(?:[\s.\-/()·•_]{0,3}\d)*")
_GROUP_SEP = re.compile(r"[\s.\-/()·•_]+")

PHONE_WORDS = re.compile(
    r"(?<![^\W\d_])(?:call(?:s|ing)?|phone|ph|tel|tele|telephone|mobile|mob|cell(?:phone)?|"
    r"text|txt|sms|whats\s?app|wa|wsp|wasap|wpp|viber|signal|telegram|line|wechat|"
    r"contact|ring|dial|hotline|helpline|help|reach|operator|claim|cust\s?care|customer\s+care|"
    r"customer\s+services?|llama(?:me|r)?|llámame|tel[eé]fono|cel(?:ular)?|"
    r"m[oó]vil|n[uú]mero|hp|telp|telepon|nomor|nomer|hubungi|kontak)(?![^\W\d_])"
    r"|โทร|เบอร์|ติดต่อ|电话|電話|手机|手機|联系|聯繫|連絡|電話番号|전화|연락|핸드폰|휴대폰"
)
# A product-code label right before the number ("UPC: ", "Model # ", "item no. ").
CODE_LABEL = re.compile(
    r"(?<![^\W\d_])(?:upc|ean|gtin|isbn|sku|mpn|asin|model|mod|part|item|art|article|style|"
    r"serial|s/n|sn|cat|catalog|catalogue|ref|order|product|internet|store|barcode|"
    r"oem|mfr|mfg|replaces|fits|series|version|lot|batch|invoice|tracking)"
    r"\s*(?:#|no\.?|nos\.?|nr\.?|num(?:ber)?|code|id)?\s*[:.#\-]?\s*$"
    r"|#\s*$"
)


def gtin_check_digit_ok(digits: str) -> bool:
    """Whether ``digits`` ends in a valid GS1 check digit (UPC-A, EAN-8/13, GTIN-14).

    >>> gtin_check_digit_ok("036000291452"), gtin_check_digit_ok("036000291453")
    (True, False)
    """
    if len(digits) not in (8, 12, 13, 14) or not digits.isdigit():
        return False
    body, check = digits[:-1], int(digits[-1])
    # Weights 3, 1, 3, ... from the digit next to the check digit leftwards.
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def _phone_shaped(written: str, groups: list[str]) -> bool:
    """The run is written as a phone number (prefix, grouping or obfuscation)."""
    if written.startswith("+"):
        return True
    if sum(len(g) == 1 for g in groups) >= 5:  # "0 8 1 - 2 3 4", spelled digits
        return True
    if "/" in written:  # "480/400-8 16": lists of sizes and codes, not phones
        return False
    lengths = [len(g) for g in groups]
    if lengths in ([3, 3, 4], [1, 3, 3, 4]) and (len(lengths) == 3 or groups[0] == "1"):
        return True
    # A national trunk prefix: "0812-3456-7890", "08-1234-5678", "07911 123456".
    return groups[0].startswith("0") and 2 <= len(groups) <= 4 and min(lengths) >= 2


def _is_product_code(before: str, written: str, digits: str) -> bool:
    if CODE_LABEL.search(before[-LABEL_BEFORE:]):
        return True
    bare = not written.startswith("+") and digits == written
    return bare and gtin_check_digit_ok(digits)


def find_phone_number(folded: str) -> str | None:
    """The first phone number in ``folded`` (casefolded text), as written, or None."""
    text = spelled_digits(folded)
    for found in _RUN.finditer(text):
        written = found.group(0).strip()
        digits = re.sub(r"\D", "", written)
        if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
            continue
        start, end = found.start(), found.end()
        if end < len(text) and text[end].isalpha():  # glued to letters: "123456789ab"
            continue
        before = text[max(0, start - WORD_BEFORE) : start]
        if _is_product_code(before, written, digits):
            continue
        groups = [g for g in _GROUP_SEP.split(written.lstrip("+(")) if g]
        if _phone_shaped(written, groups):
            return written
        after = text[end : end + WORD_AFTER]
        if PHONE_WORDS.search(before) or PHONE_WORDS.search(after):
            return written
    return None
