"""A fresh platform moderates text with the classifiers shipped in the package (issue 18)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from agora.mlops.registry import ModelRegistry
from agora.moderation.shipped import ACTOR, read_manifest
from agora.runtime import Platform
from agora.testing.api import bearer

TOUR_TEXT = "Tank sprite pack, add my l1ne id: shop88 for a discount"
SPAM = "WINNER!! You have won a 1000 cash prize. To claim call 09061701461 now"


def test_fresh_platform_is_not_degraded(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    auth = bearer(tokens["read"])
    body = client.post("/api/v1/analyze-text", json={"text": TOUR_TEXT}, headers=auth).json()
    assert body["degraded"] is False and body["unavailable"] == []
    # The toxicity model names the gated view each label serves.
    toxicity = "moderation-toxicity@1:offensive=profanity,hate=embedding"
    assert {toxicity, "moderation-spam@1"} <= set(body["models"])
    assert "contact_diversion" in body["labels"]  # the rules still answer first
    spam = client.post("/api/v1/analyze-text", json={"text": SPAM}, headers=auth).json()
    assert "spam" in spam["labels"] and spam["scores"]["spam"] > 0.9

    # Registered through the registry workflow: serving, history, figures.
    served = client.get("/api/v1/models/moderation-spam/serving", headers=auth).json()
    assert served["version"] == "1" and served["role"] == "champion"
    history = ModelRegistry(platform.models, platform.db).history("moderation-spam")
    assert [(h.action, h.actor) for h in history] == [("registered", ACTOR), ("promote", ACTOR)]
    info = platform.models.info("moderation-spam", alias="champion")
    manifest = read_manifest()["models"]["moderation-spam"]
    assert info.metrics["spam.f1"] == manifest["held_out"]["spam.f1"]
    assert (info.data_snapshot or "").startswith("shipped moderation-spam.npz sha256:")


def test_retraining_is_gated_against_the_shipped_champion(
    client: TestClient, platform: Platform, tokens: dict[str, str], data_dir: Path
) -> None:
    from agora.mlops.training.tasks import train_classifier

    auth = bearer(tokens["read"])
    client.post("/api/v1/analyze-text", json={"text": "hello"}, headers=auth)  # registers them
    out = train_classifier(platform, data_dir=str(data_dir), sample=300, embeddings=False)
    spam = out["models"]["moderation-spam"]
    # A small TF-IDF-only retrain does not become champion: it must beat the shipped one.
    assert spam["decision"] in ("challenger", "rejected") and spam["model"] == "moderation-spam@2"
    assert ModelRegistry(platform.models, platform.db).deployment("moderation-spam").champion == "1"
