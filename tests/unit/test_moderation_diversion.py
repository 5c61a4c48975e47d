# ruff: noqa: RUF001, RUF003  (look-alike and full-width characters are the test data)
"""Diversion and prohibited-item verdicts on listing texts written for this test.

Each row is a realistic listing text (English, Thai, Spanish, Indonesian,
Chinese, Japanese, Korean), many with the obfuscations sellers use (leetspeak,
spaced digits, look-alike letters, zero-width spaces, spelled digits), and the
verdict moderation must reach: ``approve`` (no rule, publish), ``review``
(contact diversion or off-platform payment: held for a moderator) or ``block``
(prohibited item). The rules, the language detector and the profanity signal
run alone, then again with the classifiers shipped in the package, which
must not change a verdict (spam only advises: it never holds a listing).
"""

from __future__ import annotations

import pytest

from agora.config import ModerationSettings
from agora.demo.catalog import build_demo_catalog
from agora.moderation.normalize import normalize
from agora.moderation.score import assess
from agora.moderation.shipped import load_shipped
from agora.moderation.text import TextAnalyzer, TextModels, listing_text

CASES: list[tuple[str, str, str]] = [
    # --- clean listings (approve) ---
    ("en", "Low-poly tank pack with 4K textures, rigged turret, Unity and Godot ready", "approve"),
    (
        "en",
        "Pixel art platformer tiles, 16x16, 240 tiles. Line art style, clean outlines",
        "approve",
    ),
    ("en", "Sci-fi pistol 3D model, 2,048 tris, PBR materials, version 1.2.0", "approve"),
    (
        "en",
        "Medieval village kit: 35 buildings, modular walls, a product line we update monthly",
        "approve",
    ),
    (
        "en",
        "Fantasy UI icons, 512 icons in PNG and SVG. Questions? Use the marketplace chat",
        "approve",
    ),
    ("th", "ขายโมเดลรถถังโลว์โพลี พร้อมพื้นผิว 4K ใช้ได้กับ Unity", "approve"),
    ("th", "สไปรต์ตัวละครพิกเซล 32x32 มีแอนิเมชันเดิน วิ่ง กระโดด", "approve"),
    ("es", "Paquete de árboles low poly para juegos móviles, 40 modelos optimizados", "approve"),
    ("es", "Efectos de sonido retro de 8 bits, 120 archivos WAV, licencia comercial", "approve"),
    ("id", "Paket aset kota low poly, 50 bangunan, siap pakai untuk Unity", "approve"),
    ("id", "Ikon antarmuka game fantasi, 300 ikon PNG resolusi tinggi", "approve"),
    ("zh", "低多边形坦克模型，带4K贴图，适用于Unity和Godot", "approve"),
    ("ja", "ローポリの戦車モデル、4Kテクスチャ付き、Unity対応", "approve"),
    # --- contact diversion (review) ---
    ("en", "Great tank pack! Add my LINE id: pixelforge88 for a bundle discount", "review"),
    ("en", "DM me on wh@tsapp for custom orders", "review"),
    ("en", "Custom work available, a d d  m e  o n  L 1 N E  @forgeshop", "review"),
    ("en", "Call or text 0 8 1 - 2 3 4 - 5 6 7 8 for the full version", "review"),
    ("en", "Reach me: zero eight one two three four five six seven eight", "review"),
    ("en", "Wһatsapp +44 7911 123456 for bulk prices", "review"),  # Cyrillic һ
    ("en", "Telegram: @asset_dealz — faster replies there", "review"),
    ("en", "Contact pixel.forge(at)gmail(dot)com for the source files", "review"),
    ("en", "Email me at forge.assets@proton.me before buying", "review"),
    ("en", "Join my channel t.me/assetdealz for free updates", "review"),
    ("en", "Let's deal outside the platform, message me on te1egram", "review"),
    ("en", "L\u200bI\u200bN\u200bE ID: shop_99 for a cheaper price", "review"),  # zero-width spaces
    ("th", "สนใจแอดไลน์ @pixelshop ได้เลยครับ ลดราคาพิเศษ", "review"),
    ("th", "ทักไลน์มาคุยรายละเอียดได้ ไอดีไลน์ forge99", "review"),
    ("th", "โทร 08-1234-5678 ติดต่อได้ตลอด", "review"),
    ("es", "Agrégame al wsp para más modelos: 55 1234 5678", "review"),
    ("es", "Escríbeme por telegram y te paso el pack completo", "review"),
    ("id", "Hubungi WA aja ya kak 0812-3456-7890, fast respon", "review"),
    ("id", "Minat? chat via line: tokoaset123", "review"),
    ("zh", "加微信 forge8888 获取完整资源包", "review"),
    ("ja", "ラインで連絡ください、ID は forge99 です", "review"),
    ("ko", "카톡 아이디 forge99 로 연락 주세요", "review"),
    # --- off-platform payment (review) ---
    ("en", "Pay me directly via bank to avoid platform fees, 20% cheaper", "review"),
    ("en", "PayPal F&F only, no refunds", "review"),
    ("en", "Send payment with Venmo or Zelle and I'll mail the files", "review"),
    ("es", "Transferencia bancaria directa y te hago descuento, sin comisión", "review"),
    ("id", "Transfer langsung ke rekening BCA biar bebas biaya admin", "review"),
    ("th", "โอนตรงเข้าบัญชีได้เลย ถูกกว่าในแอป", "review"),
    # --- prohibited items (block) ---
    ("en", "Full asset pack, cracked version with keygen included", "block"),
    ("en", "Characters ripped from the game, extracted models, all textures", "block"),
    ("en", "Selling fake passport templates and novelty ID cards", "block"),
    ("en", "Stolen accounts with rare skins, cheap", "block"),
    ("es", "Vendo versión pirata del paquete completo", "block"),
    ("id", "Jual aset game bajakan, versi crack lengkap", "block"),
    ("th", "ขายยาบ้า ส่งไว", "block"),
    ("en", "Ghost gun parts kit, untraceable firearm, ships today", "block"),
]


@pytest.fixture(scope="module")
def analyzer() -> TextAnalyzer:
    return TextAnalyzer(ModerationSettings(), models=None)


def test_table_has_enough_languages_and_rows() -> None:
    assert len(CASES) >= 40
    assert len({lang for lang, _, _ in CASES}) >= 4


@pytest.mark.parametrize(
    ("lang", "text", "expected"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_verdict(analyzer: TextAnalyzer, lang: str, text: str, expected: str) -> None:
    verdict = analyzer.analyze(text)
    got = verdict.action.value
    assert got == expected, (text, got, [m.to_dict() for m in verdict.matches])
    if expected != "approve":
        assert verdict.matches, "a held text must name the rule that held it"
    assert any(m.startswith("moderation-rules@") for m in verdict.models)


@pytest.fixture(scope="module")
def shipped() -> TextAnalyzer:
    models = TextModels(load_shipped("moderation-toxicity")[0], load_shipped("moderation-spam")[0])
    return TextAnalyzer(ModerationSettings(), models=models)


def test_shipped_classifiers_keep_every_verdict(shipped: TextAnalyzer) -> None:
    for _, text, expected in CASES:
        verdict = shipped.analyze(text)
        assert not verdict.degraded and verdict.action.value == expected, (text, verdict.reasons)


def test_an_advisory_label_queues_a_listing_but_never_holds_it(shipped: TextAnalyzer) -> None:
    """The SMS-trained spam model scores most demo listing descriptions above its cut."""
    settings = ModerationSettings()
    decisions = []
    for asset in build_demo_catalog(users=1).assets:
        verdict = shipped.analyze(listing_text(asset.metadata))
        decisions.append(assess(verdict, [], settings).decision)
        assert verdict.hold_safety >= verdict.safety
    assert "flag" not in decisions and "watch" in decisions  # queued for a look, still live
    held = TextAnalyzer(settings.model_copy(update={"advisory_labels": []}), shipped.models)
    spammy = listing_text(build_demo_catalog(users=1).assets[0].metadata)
    assert assess(held.analyze(spammy), [], settings).decision == "flag"


def test_normalisation_undoes_obfuscations() -> None:
    assert normalize("L\u200bI\u200bN\u200bE").letters == "line"
    assert normalize("w.h.a.t.s.a.p.p").letters == "whatsapp"
    assert normalize("０８１ ２３４ ５６７８").digits == "0812345678"  # full-width digits
    assert normalize("Wһatsapp").letters == "whatsapp"
    assert "line" in normalize("add me on l1ne").letters
