"""Listing facts in replies: filled from the listing and traced, or dropped."""

from __future__ import annotations

import doctest
from decimal import Decimal

import pytest

from agora.autoreply import facts as facts_module
from agora.autoreply.facts import (
    ListingFacts,
    check_template,
    delexicalise,
    fill,
    untraced_claims,
)

FULL = ListingFacts(
    title="Pixel tank pack",
    price=Decimal("12.50"),
    currency="USD",
    stock=3,
    shipping_cost=Decimal("0"),
    shipping_days=(2, 4),
)


def test_doctests() -> None:
    assert doctest.testmod(facts_module).failed == 0


def test_every_filled_value_is_traced_to_a_listing_field() -> None:
    filled = fill("{title}: {stock} left at {price}, ships in {shipping_days} days", FULL)
    assert filled is not None
    assert filled.text == "Pixel tank pack: 3 left at 12.50 USD, ships in 2-4 days"
    assert {t.slot: t.field for t in filled.traces} == {
        "title": "listing.title",
        "stock": "listing.stock",
        "price": "listing.price+listing.currency",
        "shipping_days": "listing.shipping.days",
    }


@pytest.mark.parametrize(
    "template",
    ["Yes, {stock} left.", "It costs {price}.", "{price_amount} only", "Shipping {shipping_cost}"],
)
def test_a_template_needing_a_missing_fact_is_never_filled(template: str) -> None:
    assert fill(template, ListingFacts(title="Tank")) is None


def test_price_without_currency_gives_no_price_slot() -> None:
    facts = ListingFacts(price=Decimal("7"))
    assert fill("It costs {price}", facts) is None
    filled = fill("It costs {price_amount}", facts)
    assert filled is not None and filled.text == "It costs 7"


@pytest.mark.parametrize(
    "text",
    [
        "Only 5 USD today!",
        "It's $12",
        "Harga Rp 150.000 saja",
        "Quedan 2 unidades",
        "We have 4 left",
        "Stok tinggal 3 pcs",
        "costs 30 euros",
    ],
)
def test_prices_and_stock_counts_are_claims(text: str) -> None:
    assert untraced_claims(text, [])


@pytest.mark.parametrize("text", ["Replies within 24 hours", "Thanks a lot!", "Open 7 days a week"])
def test_other_numbers_are_not_price_or_stock_claims(text: str) -> None:
    assert untraced_claims(text, []) == []


def test_traced_values_are_not_claims_but_extra_ones_are() -> None:
    assert untraced_claims("3 left at 12.50 USD", ["3", "12.50 USD"]) == []
    assert untraced_claims("3 left at 12.50 USD, or 10 USD for two", ["3", "12.50 USD"]) == [
        "10 USD"
    ]
    # A seller's past reply: any number left over is another conversation's fact.
    assert untraced_claims("ready in 3 days", [], any_number=True) == ["3"]


def test_delexicalise_turns_the_listing_values_back_into_slots() -> None:
    stored = delexicalise("Yes! 3 left at 12.50 USD, 30 sold {wow}", FULL)
    assert stored == "Yes! {stock} left at {price}, 30 sold {{wow}}"
    other = ListingFacts(price=Decimal("20"), currency="EUR", stock=7)
    filled = fill(stored, other)
    assert filled is not None
    assert filled.text == "Yes! 7 left at 20 EUR, 30 sold {wow}"


def test_unknown_slots_are_refused() -> None:
    check_template("{price} and {stock}")
    with pytest.raises(ValueError, match="unknown slot"):
        check_template("{discount}")
    with pytest.raises(ValueError, match="unknown slot"):
        check_template("{price:>10}")
