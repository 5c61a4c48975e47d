"""Listing facts in replies: fill slots from the listing, never invent one.

A reply states a listing's facts only through slots (``{price}``,
``{price_amount}``, ``{currency}``, ``{stock}``, ``{shipping_cost}``,
``{shipping_days}``, ``{title}``), each filled from one field of the listing
the request carries and traced to it. A candidate whose slot the listing
lacks is dropped, not filled with a guess. After filling, ``untraced_claims``
looks at what is left of the text (the traced values removed) for a price
(an amount beside a currency) or a stock statement (a count beside "left",
"in stock", "pcs", "quedan", "tersisa"...): any such claim drops the
candidate. A seller's past reply is stricter still: any number left is a
fact from another conversation.

``delexicalise`` turns a reply a seller sent back into a template (its
listing's values replaced by slots) before it is stored, so reusing it for
another listing fills that listing's values.

Example:
    >>> facts = ListingFacts(price=Decimal("12.5"), currency="USD", stock=3)
    >>> filled = fill("Yes! {stock} left at {price}.", facts)
    >>> filled.text, [t.field for t in filled.traces]
    ('Yes! 3 left at 12.50 USD.', ['listing.stock', 'listing.price+listing.currency'])
    >>> fill("Ships in {shipping_days} days", facts) is None  # the listing has no shipping days
    True
    >>> untraced_claims("2 left, 9.99 USD", [])
    ['9.99 USD', '2 left']
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from decimal import Decimal

SLOTS = (
    "price",
    "price_amount",
    "currency",
    "stock",
    "shipping_cost",
    "shipping_days",
    "title",
)
_CURRENCY_WORDS = (
    r"usd|eur|gbp|idr|rp|thb|jpy|inr|mxn|brl|sgd|myr|php|vnd|dollars?|euros?|rupiah|pesos?|baht"
)
_MONEY = re.compile(
    rf"(?:[$€£¥₹฿]|\b(?:{_CURRENCY_WORDS})\b\.?)\s?\d[\d.,]*"
    rf"|\d[\d.,]*\s?(?:[$€£¥₹฿]|\b(?:{_CURRENCY_WORDS})\b|k\b|rb\b|ribu\b|mil\b)",
    re.I,
)
_STOCK = re.compile(
    r"\b\d+\s*(?:pcs|pieces?|units?|items?|left|in stock|available|unidades|piezas|"
    r"quedan|disponibles?|tersisa|stok|buah|lagi)\b"
    r"|\b(?:stock|stok|quedan|queda|tersisa|sisa|only|solo|hanya)\D{0,12}?\d+",
    re.I,
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class ListingFacts:
    """What a listing states about itself; ``None``: the listing does not say."""

    title: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    stock: int | None = None
    shipping_cost: Decimal | None = None
    shipping_days: tuple[int, int] | None = None

    def slot_values(self) -> dict[str, tuple[str, str]]:
        """Slot -> (rendered value, the listing field it comes from), known slots only."""
        out: dict[str, tuple[str, str]] = {}
        if self.title:
            out["title"] = (self.title, "listing.title")
        if self.price is not None:
            amount = money(self.price)
            out["price_amount"] = (amount, "listing.price")
            if self.currency:
                out["price"] = (f"{amount} {self.currency}", "listing.price+listing.currency")
                out["currency"] = (self.currency, "listing.currency")
        if self.stock is not None:
            out["stock"] = (str(self.stock), "listing.stock")
        if self.shipping_cost is not None and self.currency:
            out["shipping_cost"] = (
                f"{money(self.shipping_cost)} {self.currency}",
                "listing.shipping.cost+listing.currency",
            )
        if self.shipping_days is not None:
            lo, hi = self.shipping_days
            out["shipping_days"] = (str(lo) if lo == hi else f"{lo}-{hi}", "listing.shipping.days")
        return out


def money(amount: Decimal) -> str:
    """``12.5`` -> ``12.50``; whole amounts without decimals (``1500``)."""
    if amount == amount.to_integral_value():
        return str(int(amount))
    return f"{amount:.2f}"


@dataclass(frozen=True)
class Trace:
    """One filled value and the listing field it was read from."""

    slot: str
    value: str
    field: str


@dataclass(frozen=True)
class Filled:
    """A reply with every slot filled, and where each value came from."""

    text: str
    traces: list[Trace]


def slots_of(template: str) -> list[str]:
    """The slot names a template uses; ``ValueError`` for a malformed template."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def check_template(template: str) -> None:
    """``ValueError`` unless every slot is one of ``SLOTS`` (no format specs)."""
    for _, name, spec, conv in string.Formatter().parse(template):
        if name is None:
            continue
        if name not in SLOTS or spec or conv:
            raise ValueError(f"unknown slot {{{name}}}: use {', '.join(SLOTS)}")


def fill(template: str, facts: ListingFacts) -> Filled | None:
    """The template with the listing's values, or None when it needs a fact the listing lacks."""
    try:
        names = slots_of(template)
    except ValueError:
        return None
    values = facts.slot_values()
    if any(name not in values for name in names):
        return None
    traces = [Trace(n, values[n][0], values[n][1]) for n in dict.fromkeys(names)]
    text = template.format_map({n: values[n][0] for n in names})
    return Filled(text, traces)


def untraced_claims(text: str, traced: list[str], *, any_number: bool = False) -> list[str]:
    """Prices and stock counts ``text`` states beyond the ``traced`` values
    (``any_number``: every number left counts, for a seller's past reply)."""
    rest = text
    for value in sorted(set(traced), key=len, reverse=True):
        if value:
            rest = rest.replace(value, " ")
    claims = [m.group(0).strip() for m in _MONEY.finditer(rest)]
    claims += [m.group(0).strip() for m in _STOCK.finditer(rest)]
    if any_number:
        claims += [n for n in _NUMBER.findall(rest) if not any(n in c for c in claims)]
    return claims


def delexicalise(reply: str, facts: ListingFacts) -> str:
    """The reply with the listing's values turned back into slots (longest first),
    braces in the seller's own text escaped."""
    text = reply.replace("{", "{{").replace("}", "}}")
    values = sorted(facts.slot_values().items(), key=lambda kv: -len(kv[1][0]))
    for slot, (value, _) in values:
        if slot == "title" or not value:
            continue
        # Whole numbers only: "3" must not match inside "30".
        pattern = rf"(?<![\d.,]){re.escape(value)}(?![\d]|[.,]\d)"
        text = re.sub(pattern, "{" + slot + "}", text)
    return text
