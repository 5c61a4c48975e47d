"""The rules on ordinary product text: context decides, abuse is still caught.

The negatives are the false positives found on a real shop's catalog (issue
20): "cracked" screens and skin read as piracy, UPC and item numbers as phone
numbers, CSS ``line-height``, "Product line: Fashion" and "snap-fit" as
messaging handles, "tether" and the name "Dana" as payment apps, "vx" inside
the brand "Ravx Combo" and headsets to "chat online" as diversion. The
positives are the abuse each rule exists for, written the ways sellers write it.
"""

from __future__ import annotations

import pytest

from agora.errors import InvalidInput
from agora.moderation.normalize import normalize
from agora.moderation.phone import find_phone_number, gtin_check_digit_ok
from agora.moderation.rules import RuleSet

LEGITIMATE = [
    "Used iPhone 8, cracked screen, works fine",
    "Balm that soothes dry, cracked skin and heels",
    "Fasade Decorative Wall Panel in Cracked Copper",
    "OPTIX 2 ft. x 4 ft. Cracked Ice Clear Suspended Ceiling Grid Light Panels",
    "Quikrete concrete crack filler, 10 oz.",
    "Hand towel, UPC 036000291452",
    "Replacement filter 036000291452",  # valid UPC-A check digit, no label
    "Item # 100032785, fits all 2019 models",
    "Model 4100046000 range hood filter",
    "SKU: 1000327851 - Coast HL47 headlamp",
    "ISBN 9780306406157, hardcover, first edition",
    "Broan-NuTone 41000/46000/ACS/F40000/RL6200 Series Range Hood Filter",
    "Martin Wheel 480/400-8 16 in. Wheelbarrow Wheel",
    "DuctlessAire 9000 - 12000 BTU Outdoor Wall Mounting Bracket",
    "Coast HL47 Dual Color LED Headlamp 1000-327-851",
    '<p style="line-height: 1.5">Soft cotton tee</p>',
    "Product line: Fashion. Material: cotton",
    "Snap-fit lid keeps food fresh",
    "SNAP-LOC 1000 lb. Capacity Hand Truck",
    "Hampton Bay 10 ft. Line-Voltage Track Lighting Kit",
    "Input line: 120V, output 12V DC",
    "Everbilt 1/3 HP Submersible Sump Pump with Tether",
    "Handmade by Dana, ships in two days",
    "Ravx Combo keyboard and mouse set",
    "Maxim Lighting Camden VX-Outdoor Flush Mount",
    "Wireless gaming headset, chat online with your team",
    "Rubbermaid Commercial Products Rigid Liner for Trash Containers",
    "SPT Shabu-Shabu and BBQ Cooker",
    "Kakao Friends Ryan plush toy, 30 cm",
    "No fees for returns within 30 days",
    "Add line art to your sketches with this pen set",
    "Call of Duty themed mouse pad",
]

ABUSE = [
    ("Cracked version of the full pack, works offline", "prohibited.piracy"),
    ("Photoshop 2024 full crack, lifetime", "prohibited.piracy"),
    ("Game key, crack + keygen included", "prohibited.piracy"),
    ("Cracked APK with all levels unlocked", "prohibited.piracy"),
    ("All 40 models ripped from the game", "prohibited.piracy"),
    ("Call 0812 345 6789 for the full version", "contact.phone_number"),
    ("WhatsApp 081234567890 for bulk prices", "contact.phone_number"),
    ("Reach me at +44 7911 123456", "contact.phone_number"),
    ("Questions? (555) 123-4567", "contact.phone_number"),
    ("Bulk orders: 08-1234-5678", "contact.phone_number"),
    ("zero eight one two three four five six seven eight", "contact.phone_number"),
    ("WINNER! To claim call 09061701461 now", "contact.phone_number"),
    ("Add my LINE id: pixelforge88 for a discount", "contact.messaging_handle"),
    ("LINE: shop88", "contact.messaging_handle.label"),
    ("ig: @forge_assets", "contact.messaging_handle"),
    ("Telegram: asset_dealz, faster replies", "contact.messaging_handle"),
    ("add me on line for custom orders", "contact.invitation.en"),
    ("Message us via WhatsApp before you buy", "contact.invitation.en"),
    ("Let's deal off the platform", "contact.invitation.en"),
    ("Pay via Dana or OVO, no checkout", "payment.direct.en"),
    ("Send payment with Venmo or Zelle", "payment.direct.en"),
    ("Zelle only, no refunds", "payment.direct.en"),
    ("Payment in Tether (USDT) to my wallet", "payment.direct.en"),
    ("Bayar pakai dana ya kak", "payment.direct.id"),
    ("Pay me directly to avoid the platform fees", "payment.direct.en"),
    ("vx: forge8888 for the full pack", "contact.invitation.cjk"),
    ("QQ 123456789 联系", "contact.invitation.cjk"),
    ("Jual shabu murah", "prohibited.drugs"),
]


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return RuleSet.packaged()


@pytest.mark.parametrize("text", LEGITIMATE)
def test_product_text_is_not_held(rules: RuleSet, text: str) -> None:
    assert [m.to_dict() for m in rules.match(text)] == []


@pytest.mark.parametrize(("text", "rule_id"), ABUSE)
def test_abuse_is_still_caught(rules: RuleSet, text: str, rule_id: str) -> None:
    assert rule_id in [m.rule_id for m in rules.match(text)]


def test_a_code_label_beats_a_phone_shape_but_a_phone_word_makes_a_bare_run_count() -> None:
    assert find_phone_number(normalize("call 0812345678").folded) == "0812345678"
    assert find_phone_number(normalize("0812345678").folded) is None  # bare, no context
    assert find_phone_number(normalize("model # 0812-345-6789").folded) is None
    # A phone-shaped number needs no phone word.
    assert find_phone_number(normalize("ask 555.123.4567").folded) == "555.123.4567"
    # Longer runs than a phone number are not one, even next to "call".
    assert find_phone_number(normalize("call 12345678901234567").folded) is None


def test_gs1_check_digits() -> None:
    assert gtin_check_digit_ok("036000291452")  # UPC-A
    assert gtin_check_digit_ok("4006381333931")  # EAN-13
    assert gtin_check_digit_ok("9780306406157")  # ISBN-13
    assert gtin_check_digit_ok("96385074")  # EAN-8
    assert not gtin_check_digit_ok("036000291451")
    assert not gtin_check_digit_ok("08123456789")  # 11 digits: no GS1 code


def test_a_bare_valid_barcode_is_never_a_phone_number_but_a_plus_makes_it_one() -> None:
    assert gtin_check_digit_ok("447911123457")
    assert find_phone_number(normalize("call 447911123457").folded) is None
    assert find_phone_number(normalize("call +447911123457").folded) == "+447911123457"


def test_a_rule_names_a_known_detector_or_has_patterns() -> None:
    with pytest.raises(InvalidInput, match="unknown detector"):
        RuleSet.from_texts({"x.yaml": "rules: [{id: a, detector: nope}]"})
    with pytest.raises(InvalidInput, match="patterns or a detector"):
        RuleSet.from_texts({"x.yaml": "rules: [{id: a}]"})
    ok = RuleSet.from_texts({"x.yaml": "rules: [{id: a, detector: phone_number}]"})
    assert [m.rule_id for m in ok.match("call +66 81 234 5678")] == ["a"]


def test_a_line_of_underscores_is_normalised_at_once() -> None:
    """'_' was a letter and a separator at once: the spaced-letters pattern backtracked 2^n."""
    line = "Issue #422 " + "_" * 40 + "Your place to exchange ideas"
    assert normalize(line).letters.endswith("your place to exchange ideas")
    assert normalize("t_e_l_e_g_r_a_m me").letters == "telegram me"
