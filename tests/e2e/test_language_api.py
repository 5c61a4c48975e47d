"""analyze-text's language heads and auto-reply, over the API.

The chat-intent head is trained here through the gated ``train.language``
pipeline on the packaged chat set (no shared data needed); the other heads
have no champion in this store, and the answers must say so.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agora.api.app import create_app
from agora.config import Settings
from agora.language.training import train_language
from agora.mlops.training.pipeline import TrainingServices
from agora.runtime import Platform
from agora.testing.api import bearer


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("language-embeddings")


@pytest.fixture
def platform(tmp_path: Path, cache_dir: Path) -> Iterator[Platform]:
    settings = Settings.load(
        data_dir=tmp_path / "agora",
        moderation={"model_refresh_s": 3600.0},
        language={"model_refresh_s": 0.0},
    )
    p = Platform.build(settings)
    outcome = train_language(
        TrainingServices(settings, p.db, p.models),
        only=["language-chat-intent"],
        embedding_cache=str(cache_dir),
    )
    assert outcome["models"]["language-chat-intent"]["decision"] == "champion"
    yield p
    p.close()


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform, start_background=False)) as c:
        yield c


@pytest.fixture
def tokens(platform: Platform) -> dict[str, str]:
    return {s: platform.keys.create([s]).token for s in ("read", "write")}


class Counting:
    """Counts the texts the text model itself encodes (cache misses)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.texts: list[str] = []

    def wrap(self, name: str) -> None:
        inner = getattr(self.model, name)

        def counted(texts: Any, *args: Any, **kwargs: Any) -> Any:
            self.texts.extend(texts)
            return inner(texts, *args, **kwargs)

        setattr(self.model, name, counted)


def test_analyze_text_gives_the_trained_intent_with_its_version(
    client: TestClient, tokens: dict[str, str]
) -> None:
    r = client.post(
        "/api/v1/analyze-text",
        headers=bearer(tokens["read"]),
        json={"text": "Could you please send me a few more photos of the box?"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["intent"]["model"] == "language-chat-intent@1"
    assert body["intent"]["label"] in body["intent"]["scores"]
    assert abs(sum(body["intent"]["scores"].values()) - 1) < 1e-3
    assert "language-chat-intent@1" in body["models"]
    # Heads without a champion are absent, and said to be.
    assert body["sentiment"] is None and body["emotion"] is None
    assert set(body["heads_unavailable"]) == {"sentiment", "emotion", "fine_intent"}
    assert body["recommended_action"] in {"approve", "review", "block"}
    assert body["language"] == "en"


def test_each_text_is_encoded_once_for_every_head_and_moderation(
    client: TestClient, tokens: dict[str, str], platform: Platform
) -> None:
    counter = Counting(platform.encoders.text("minilm").model)
    # The micro-batchers hold the model's bound methods: count below them.
    counter.wrap("_encode")
    r = client.post(
        "/api/v1/analyze-text",
        headers=bearer(tokens["read"]),
        json={"text": "The parcel arrived crushed and nobody answers, terrible seller"},
    )
    assert r.status_code == 200, r.text
    assert len(counter.texts) == 1
    texts = ["I love it, thank you!", "Where is my order?", "Ship it today."]
    r = client.post(
        "/api/v1/analyze-text:batch", headers=bearer(tokens["read"]), json={"texts": texts}
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert len(results) == 3 and all(x["intent"] for x in results)
    assert sorted(counter.texts[1:]) == sorted(texts)


def test_batch_limits_and_bad_input_are_problems(
    client: TestClient, tokens: dict[str, str], platform: Platform
) -> None:
    too_many = ["hi"] * (platform.settings.language.max_batch_texts + 1)
    r = client.post(
        "/api/v1/analyze-text:batch", headers=bearer(tokens["read"]), json={"texts": too_many}
    )
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/problem+json")
    r = client.post(
        "/api/v1/analyze-text:batch", headers=bearer(tokens["read"]), json={"texts": []}
    )
    assert r.status_code == 422


# -- auto-reply -----------------------------------------------------------------

TEMPLATES = [
    ("question", "Yes, it's still available: {stock} left at {price}."),
    ("question", "Yes, still available! Happy to answer anything else."),
    ("question", "Yes it is available, only 5 USD today!"),  # a literal, untraced price
    ("question", "Yes, still available! Add my line id: pixelshop88 for a discount"),
    ("complaint", "I'm sorry about that. Send me a photo and I'll sort it out today."),
    ("question", "It ships in {shipping_days} days."),
]


def _templates(client: TestClient, token: str) -> list[dict[str, Any]]:
    made = []
    for intent, text in TEMPLATES:
        r = client.post(
            "/api/v1/auto-reply/templates",
            headers=bearer(token),
            json={"language": "en", "intent": intent, "text": text},
        )
        assert r.status_code == 201, r.text
        made.append(r.json())
    return made


def _suggest(client: TestClient, token: str, listing: dict[str, Any], text: str) -> dict:
    r = client.post(
        "/api/v1/auto-reply",
        headers=bearer(token),
        json={
            "seller_id": "s-1",
            "conversation": [
                {"role": "seller", "text": "Hi! Thanks for your interest."},
                {"role": "buyer", "text": text},
            ],
            "listing": listing,
        },
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_templates_crud(client: TestClient, tokens: dict[str, str]) -> None:
    made = _templates(client, tokens["write"])
    r = client.get(
        "/api/v1/auto-reply/templates",
        headers=bearer(tokens["read"]),
        params={"intent": "complaint"},
    )
    assert [t["text"] for t in r.json()["items"]] == [TEMPLATES[4][1]]
    tid = made[1]["id"]
    r = client.patch(
        f"/api/v1/auto-reply/templates/{tid}",
        headers=bearer(tokens["write"]),
        json={"text": "Yes! {title} is still available."},
    )
    assert r.status_code == 200 and r.json()["text"] == "Yes! {title} is still available."
    r = client.post(
        "/api/v1/auto-reply/templates",
        headers=bearer(tokens["write"]),
        json={"language": "en", "intent": "question", "text": "Now {discount} off"},
    )
    assert r.status_code == 422 and "unknown slot" in r.json()["detail"]
    assert (
        client.delete(
            f"/api/v1/auto-reply/templates/{tid}", headers=bearer(tokens["write"])
        ).status_code
        == 204
    )
    r = client.get(f"/api/v1/auto-reply/templates/{tid}", headers=bearer(tokens["read"]))
    assert r.status_code == 404
    r = client.post("/api/v1/auto-reply/templates", headers=bearer(tokens["read"]),
                    json={"language": "en", "intent": "question", "text": "hi"})  # fmt: skip
    assert r.status_code == 403


def test_auto_reply_never_states_a_price_or_stock_the_listing_lacks(
    client: TestClient, tokens: dict[str, str]
) -> None:
    _templates(client, tokens["write"])
    body = _suggest(
        client, tokens["read"], {"title": "Pixel tank pack"}, "Is this still available?"
    )
    assert body["suggestions"], body
    assert body["intent"]["model"] == "language-chat-intent@1"
    for s in body["suggestions"]:
        assert "USD" not in s["text"] and "left" not in s["text"], s
        assert s["facts"] == [] or all(f["field"].startswith("listing.") for f in s["facts"])
    assert body["skipped"]["missing_fact"] >= 2  # {stock}/{price} and {shipping_days}
    assert body["skipped"]["untraced_fact"] >= 1  # the literal 5 USD
    # With the facts present, the template fills them, each traced to its field.
    listing = {"title": "Pixel tank pack", "price": 12.5, "currency": "USD", "stock": 3}
    body = _suggest(client, tokens["read"], listing, "Is this still available?")
    filled = [s for s in body["suggestions"] if "{" not in s["text"] and "left" in s["text"]]
    assert filled and filled[0]["text"] == "Yes, it's still available: 3 left at 12.50 USD."
    assert {f["field"] for f in filled[0]["facts"]} == {
        "listing.stock",
        "listing.price+listing.currency",
    }
    assert all("5 USD today" not in s["text"] for s in body["suggestions"])


def test_a_reply_moderation_would_flag_is_never_offered(
    client: TestClient, tokens: dict[str, str], platform: Platform
) -> None:
    _templates(client, tokens["write"])
    flagged = TEMPLATES[3][1]
    assert platform.moderation.analyze_text(flagged).action.value != "approve"
    body = _suggest(
        client, tokens["read"], {"title": "Tank"}, "Still available? Can I get a discount?"
    )
    assert body["skipped"].get("moderation", 0) >= 1
    assert all("line id" not in s["text"].lower() for s in body["suggestions"])
    assert all(s["moderation"]["action"] == "approve" for s in body["suggestions"])


def test_feedback_is_reused_with_the_new_listings_facts_only(
    client: TestClient, tokens: dict[str, str]
) -> None:
    sent = {
        "seller_id": "s-1",
        "buyer_message": "Do you still have this one?",
        "reply": "Yes! 3 left at 12.50 USD, I ship every morning.",
        "action": "sent",
        "listing": {"price": 12.5, "currency": "USD", "stock": 3},
    }
    r = client.post("/api/v1/auto-reply/feedback", headers=bearer(tokens["write"]), json=sent)
    assert r.status_code == 201, r.text
    assert r.json()["reply"] == "Yes! {stock} left at {price}, I ship every morning."
    # A reply with a number the listing did not give is stored but never offered.
    odd = sent | {"reply": "I can do 10 USD if you take two.", "listing": {"stock": 3}}
    assert (
        client.post(
            "/api/v1/auto-reply/feedback", headers=bearer(tokens["write"]), json=odd
        ).status_code
        == 201
    )
    listing = {"price": 20, "currency": "EUR", "stock": 7}
    body = _suggest(client, tokens["read"], listing, "Do you still have this?")
    texts = [s["text"] for s in body["suggestions"]]
    assert "Yes! 7 left at 20 EUR, I ship every morning." in texts
    assert all("10 USD" not in t and "12.50" not in t for t in texts)
    # Without a price on the listing, the stored reply cannot be filled: not offered.
    body = _suggest(client, tokens["read"], {"stock": 7}, "Do you still have this?")
    assert all("left at" not in s["text"] for s in body["suggestions"])


def test_auto_reply_needs_a_buyer_message(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.post(
        "/api/v1/auto-reply",
        headers=bearer(tokens["read"]),
        json={"seller_id": "s", "conversation": [{"role": "seller", "text": "hello"}]},
    )
    assert r.status_code == 422
    assert "buyer message" in r.json()["detail"]
