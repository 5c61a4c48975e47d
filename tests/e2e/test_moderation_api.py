"""Moderation end to end: upload -> pipeline -> queue -> decision, over the API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agora.api.app import create_app
from agora.config import Settings
from agora.moderation.decisions import LABELS
from agora.moderation.testing import sample_models
from agora.recommend.eligibility import eligible_ids
from agora.runtime import Platform
from agora.testing.api import bearer, drain_pipeline
from agora.testing.samples import tiny_png, truncated_png


@pytest.fixture
def platform(tmp_path: Path, data_dir: Path) -> Iterator[Platform]:
    # Tagging loads its zero-shot encoders and decides nothing here; indexing stays, as
    # search must not find a flagged asset.
    settings = Settings.load(
        data_dir=tmp_path / "agora",
        moderation={"model_refresh_s": 3600.0},
        pipeline={"disabled_steps": ["tagging"]},
    )
    p = Platform.build(settings)
    models = sample_models(data_dir)
    p.moderation_models.install(
        {"moderation-toxicity": models.toxicity, "moderation-spam": models.spam}
    )
    yield p
    p.close()


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform, start_background=False)) as c:
        yield c


@pytest.fixture
def tokens(platform: Platform) -> dict[str, str]:
    return {s: platform.keys.create([s]).token for s in ("read", "write", "moderator", "admin")}


def _upload(client: TestClient, token: str, meta: dict, images=()) -> dict:
    meta = {"seller_id": "s1", "price": 3.5, "currency": "USD"} | meta
    multipart = [("metadata", (None, json.dumps(meta)))]
    multipart += [("images", img) for img in images]
    r = client.post("/api/v1/assets", headers=bearer(token), files=multipart)
    assert r.status_code == 202, r.text
    return r.json()


def _status(client: TestClient, token: str, asset_id: str) -> str:
    return client.get(f"/api/v1/assets/{asset_id}", headers=bearer(token)).json()["status"]


@pytest.fixture
def seller(client: TestClient, tokens: dict[str, str]) -> str:
    r = client.put("/api/v1/sellers/s1", headers=bearer(tokens["write"]), json={"name": "Forge"})
    assert r.status_code == 200
    return "s1"


def test_analyze_text_reports_labels_rules_and_models(
    client: TestClient, tokens: dict[str, str]
) -> None:
    r = client.post(
        "/api/v1/analyze-text",
        headers=bearer(tokens["read"]),
        json={"text": "Great sprites! Add my L1NE id: pixelshop for a discount"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["recommended_action"] == "review"
    assert "contact_diversion" in body["labels"]
    assert any(m["rule"] == "contact.messaging_handle" for m in body["matched_rules"])
    assert "moderation-toxicity@sample" in body["models"]
    assert any(m.startswith("moderation-rules@") for m in body["models"])
    assert set(body["scores"]) >= {"offensive", "hate", "spam", "profanity"}
    assert body["degraded"] is False


def test_analyze_text_bad_input_is_problem_json(client: TestClient, tokens: dict[str, str]) -> None:
    h = bearer(tokens["read"])
    as_json = h | {"content-type": "application/json"}
    r = client.post("/api/v1/analyze-text", headers=as_json, content=b"{not json")
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    huge = {"text": "a" * 20_001}
    assert client.post("/api/v1/analyze-text", headers=h, json=huge).status_code == 413
    for body, field in (
        ({"text": 5}, "text"),
        ({"title": "hi", "tags": [1, 2]}, "tags"),
        ({"title": "hi", "tags": 5}, "tags"),
        ({"title": "hi", "tags": "tank"}, "tags"),
        ({"title": "hi", "tagz": ["tank"]}, "tagz"),
    ):
        r = client.post("/api/v1/analyze-text", headers=h, json=body)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert all(e["loc"][:2] == ["body", field] for e in r.json()["errors"]), r.text
    for empty in ({}, {"text": "  "}, {"title": "", "tags": []}):
        r = client.post("/api/v1/analyze-text", headers=h, json=empty)
        assert r.status_code == 422, r.text
        assert "non-empty" in r.json()["errors"][0]["msg"]


def test_analyze_text_joins_a_listing_s_fields(client: TestClient, tokens: dict[str, str]) -> None:
    listing = {"title": "Pixel tank", "description": "whatsapp me", "tags": ["tank", "2d"]}
    r = client.post("/api/v1/analyze-text", headers=bearer(tokens["read"]), json=listing)
    assert r.status_code == 200, r.text
    assert "contact_diversion" in r.json()["labels"]


def test_analyze_image_safe_and_corrupt(client: TestClient, tokens: dict[str, str]) -> None:
    h = bearer(tokens["read"])
    r = client.post(
        "/api/v1/analyze-image", headers=h, files={"image": ("a.png", tiny_png(64, 64))}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["category"] == "safe" and body["recommended_action"] == "approve"
    assert body["models"][0].startswith("opennsfw@")
    assert body["condition"]["available"] is False
    r = client.post("/api/v1/analyze-image", headers=h, files={"image": ("b.png", truncated_png())})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")


def _visible(client: TestClient, platform: Platform, read: dict[str, str]) -> set[str]:
    """Ids that keyword search finds for "tank", checked against what recommendations
    may serve (their catalog filter; a cold catalog has no trending list to read)."""
    params = {"q": "tank", "mode": "keyword"}
    hits = client.get("/api/v1/search", params=params, headers=read).json()["hits"]
    found = {h["id"] for h in hits}
    assert eligible_ids(platform.db) == found
    return found


def test_flagged_asset_hidden_until_moderator_approves(
    client: TestClient, platform: Platform, tokens: dict[str, str], seller: str
) -> None:
    clean = _upload(
        client,
        tokens["write"],
        {"title": "Low-poly tank", "description": "A tank sprite for arcade games."},
    )
    shady = _upload(
        client,
        tokens["write"],
        {
            "title": "Pixel tank pack",
            "description": "Cheaper outside: whatsapp me on 0 8 1 2 - 3 4 5 - 6 7 8 9",
        },
    )
    assert drain_pipeline(platform) == 2
    read = bearer(tokens["read"])
    assert _status(client, tokens["read"], clean["id"]) == "active"
    assert _status(client, tokens["read"], shady["id"]) == "flagged"
    # Catalog listing with status=active (what search and recommendations serve).
    active = client.get("/api/v1/assets?status=active", headers=read).json()["items"]
    assert {a["id"] for a in active} == {clean["id"]}
    assert _visible(client, platform, read) == {clean["id"]}

    mod = bearer(tokens["moderator"])
    assert client.get("/api/v1/moderation/queue", headers=read).status_code == 403
    items = client.get("/api/v1/moderation/queue", headers=mod).json()["items"]
    item = next(i for i in items if i["asset_id"] == shady["id"])
    assert item["kind"] == "review" and item["safety_score"] < 0.4
    assert any(r["source"] == "rule" for r in item["reasons"])
    assert any(m.startswith("moderation-spam@") for m in item["models"])

    url = f"/api/v1/moderation/items/{item['id']}/decision"
    for body, field in (
        ({"decision": "approve", "note": "n" * 2001}, "note"),
        ({"decision": "approve", "labels": ["nope"]}, "labels"),
        ({"decision": "approve", "note": 5}, "note"),
        ({"decision": "maybe"}, "decision"),
        ({"note": "no decision"}, "decision"),
        ({"decision": "approve", "lables": ["spam"]}, "lables"),
    ):
        bad = client.post(url, headers=mod, json=body)
        assert bad.status_code == 422 and bad.json()["status"] == 422, bad.text
        assert bad.headers["content-type"].startswith("application/problem+json")
        (error,) = bad.json()["errors"]
        assert error["loc"][:2] == ["body", field], bad.text
        if field == "labels":
            assert all(f"'{label}'" in error["msg"] for label in LABELS), error["msg"]
    assert _status(client, tokens["read"], shady["id"]) == "flagged"  # nothing applied
    r = client.post(
        f"/api/v1/moderation/items/{item['id']}/decision",
        headers=mod,
        json={"decision": "approve", "note": "phone is the shop's"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "approved"
    assert _status(client, tokens["read"], shady["id"]) == "active"
    assert _visible(client, platform, read) == {clean["id"], shady["id"]}
    again = client.post(
        f"/api/v1/moderation/items/{item['id']}/decision", headers=mod, json={"decision": "reject"}
    )
    assert again.status_code == 409
    audit = client.get(
        "/api/v1/audit", headers=bearer(tokens["admin"]), params={"subject_id": shady["id"]}
    ).json()
    actions = (
        [e["action"] for e in audit["entries"]]
        if "entries" in audit
        else [e["action"] for e in audit["items"]]
    )
    assert "moderation.approve" in actions


def test_reject_then_appeal_and_training_example_with_consent(
    client: TestClient, platform: Platform, tokens: dict[str, str], seller: str
) -> None:
    platform.consent.put("s1", {"allows_model_training": True}, actor="test")
    a = _upload(
        client,
        tokens["write"],
        {
            "title": "Sprites",
            "description": "Pay me via bank transfer directly, skip the platform fees",
        },
    )
    drain_pipeline(platform)
    mod = bearer(tokens["moderator"])
    item = client.get("/api/v1/moderation/queue", headers=mod).json()["items"][0]
    assert item["asset_id"] == a["id"]
    r = client.post(
        f"/api/v1/moderation/items/{item['id']}/decision",
        headers=mod,
        json={"decision": "reject", "labels": ["spam"]},
    )
    assert r.status_code == 200
    assert _status(client, tokens["read"], a["id"]) == "banned"
    w = bearer(tokens["write"])
    wrong = client.post(
        f"/api/v1/moderation/items/{item['id']}/appeal",
        headers=w,
        json={"seller_id": "other", "message": "mine"},
    )
    assert wrong.status_code == 403
    for body in (
        {"seller_id": "s1", "message": " "},
        {"seller_id": "s1", "message": "m" * 2001},
        {"seller_id": "s1"},
        {"seller_id": 5, "message": "mine"},
    ):
        bad = client.post(f"/api/v1/moderation/items/{item['id']}/appeal", headers=w, json=body)
        assert bad.status_code == 422, bad.text
    assert (
        client.get(f"/api/v1/moderation/items/{item['id']}", headers=mod).json()["appeal"] is None
    )
    ok = client.post(
        f"/api/v1/moderation/items/{item['id']}/appeal",
        headers=w,
        json={"seller_id": "s1", "message": "It was a mistake"},
    )
    assert ok.status_code == 200 and ok.json()["state"] == "appealed"
    appeal = ok.json()["appeal"]
    assert appeal["message"] == "It was a mistake" and appeal["previous_state"] == "rejected"

    examples = platform.moderation_queue.examples()
    assert len(examples) == 1 and examples[0].labels == {"spam": 1}


def test_corrupt_image_does_not_crash_the_step(platform: Platform) -> None:
    """A blob that decodes no more (corrupted after upload) becomes an image error."""
    from agora.pipeline.base import StepContext
    from agora.pipeline.steps.moderation import ModerationStep

    good = platform.blobs.put(tiny_png(32, 32), name="ok.png", media_type="image/png", kind="image")
    bad = platform.blobs.put(truncated_png(), name="t.png", media_type="image/png", kind="image")
    junk = platform.blobs.put(
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, name="j.png", media_type="image/png", kind="image"
    )
    asset = {
        "id": "a1",
        "title": "Tank",
        "description": "A sprite",
        "tags": ["tank"],
        "images": [good.to_dict(), bad.to_dict(), junk.to_dict(), {"sha256": "0" * 64}],
    }
    outcome = ModerationStep(lambda: platform.moderation).run(
        StepContext(asset=asset, blobs=platform.blobs, settings=platform.settings)
    )
    images = outcome.output["images"]
    assert images[0]["category"] == "safe"
    assert all(im.get("error") for im in images[1:])
    # Unanalysable images put the asset on watch (queued), never crash it.
    assert outcome.output["decision"] == "watch" and outcome.output["queue"] is True
    assert outcome.hold is False


def test_text_analysis_down_accepts_and_queues(tmp_path: Path) -> None:
    """The model store cannot be opened: text analysis is down, the asset goes
    live and waits in the queue for post-hoc batch review, counted in a metric."""
    from prometheus_client import REGISTRY

    from agora.testing.api import drain_pipeline as drain

    settings = Settings.load(data_dir=tmp_path / "agora")
    platform = Platform.build(settings)
    # A registry URI that cannot be opened: every model load raises.
    settings.registry.tracking_uri = "sqlite:////proc/agora-no-such-dir/mlflow.db"
    before = (
        REGISTRY.get_sample_value("agora_moderation_text_down_total", {"reason": "error"}) or 0.0
    )
    try:
        with TestClient(create_app(platform, start_background=False)) as c:
            w = platform.keys.create(["read", "write"]).token
            m = platform.keys.create(["moderator"]).token
            c.put("/api/v1/sellers/s1", headers=bearer(w), json={"name": "x"})
            a = _upload(c, w, {"title": "Tank", "description": "A clean sprite"})
            drain(platform)
            assert _status(c, w, a["id"]) == "active"
            items = c.get("/api/v1/moderation/queue", headers=bearer(m)).json()["items"]
            assert [(i["asset_id"], i["kind"]) for i in items] == [(a["id"], "post_hoc")]
        after = REGISTRY.get_sample_value("agora_moderation_text_down_total", {"reason": "error"})
        assert after == before + 1
    finally:
        platform.close()


def test_approve_refused_while_an_admin_override_bans_the_seller(
    client: TestClient, platform: Platform, tokens: dict[str, str], seller: str
) -> None:
    shady = _upload(
        client,
        tokens["write"],
        {"title": "Tank pack", "description": "Pay outside: whatsapp me on 0 8 1 2 3 4 5 6 7 8 9"},
    )
    assert drain_pipeline(platform) == 1
    admin, mod = bearer(tokens["admin"]), bearer(tokens["moderator"])
    ban = {"action": "ban", "target": "seller", "value": seller, "reason": "fraud ring"}
    assert client.post("/api/v1/overrides", json=ban, headers=admin).status_code == 201
    items = client.get("/api/v1/moderation/queue", headers=mod).json()["items"]
    item = next(i for i in items if i["asset_id"] == shady["id"])
    url = f"/api/v1/moderation/items/{item['id']}/decision"
    r = client.post(url, headers=mod, json={"decision": "approve"})
    assert r.status_code == 409 and "override" in r.json()["detail"], r.text
    assert _status(client, tokens["read"], shady["id"]) != "active"
