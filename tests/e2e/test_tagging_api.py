"""Tagging end to end over the API: consent on every path, cloud fallback, feedback -> heads."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from skimage import data as skdata

from agora.api.app import create_app
from agora.bus.base import Topics
from agora.bus.consumer import Consumer, SqlIdempotencyLedger
from agora.config import Settings
from agora.governance.audit import AuditLog
from agora.mlops.canary_judge import version_stats
from agora.mlops.registry import GATE_REJECTED
from agora.runtime import Platform
from agora.search.consumer import INDEX_GROUP, index_event_handler
from agora.tagging.testing import CloudTaggerEmulator
from agora.testing.api import bearer, drain_pipeline

ADR_KEYS = {"asset_id", "tags", "quality_score", "total_processing_time", "models_used",
            "consent_version", "processed_at"}  # fmt: skip


@pytest.fixture
def emulator() -> Iterator[CloudTaggerEmulator]:
    with CloudTaggerEmulator([("Tank", 0.91), ("Military", 0.8)]) as emu:
        yield emu


def make_platform(tmp_path: Path, emu: CloudTaggerEmulator, **extra: object) -> Platform:
    settings = Settings.load(
        data_dir=tmp_path / "agora",
        tagging={"cloud_provider": "generic", "cloud_url": emu.url},
        **extra,
    )
    return Platform.build(settings)


@pytest.fixture
def platform(tmp_path: Path, emulator: CloudTaggerEmulator) -> Iterator[Platform]:
    p = make_platform(tmp_path, emulator)
    yield p
    p.close()


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform, start_background=False)) as c:
        yield c


@pytest.fixture
def tokens(platform: Platform) -> dict[str, str]:
    return {s: platform.keys.create([s]).token for s in ("read", "write", "moderator", "admin")}


def photo(name: str, *, mirrored: bool = False) -> bytes:
    buf = io.BytesIO()
    picture = Image.fromarray(getattr(skdata, name)()).resize((160, 120))
    if mirrored:  # a second, different asset of the same subject
        picture = picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    picture.save(buf, format="PNG")
    return buf.getvalue()


def upload(
    client: TestClient, token: str, seller: str, image: str, tags: list[str],
    *, mirrored: bool = False,
) -> str:  # fmt: skip
    meta = {"seller_id": seller, "title": f"{image} sprite", "price": 2, "currency": "USD",
            "tags": tags}  # fmt: skip
    picture = photo(image, mirrored=mirrored)
    files = [("metadata", (None, json.dumps(meta))), ("images", (f"{image}.png", picture))]
    client.put(f"/api/v1/sellers/{seller}", headers=bearer(token), json={"name": seller})
    r = client.post("/api/v1/assets", headers=bearer(token), files=files)
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def tag(client: TestClient, token: str, asset_id: str, body: dict | None = None):
    return client.post(f"/api/v1/assets/{asset_id}/tags", headers=bearer(token), json=body or {})


def audit_actions(platform: Platform, asset_id: str) -> list[tuple[str, int | None]]:
    page = AuditLog(platform.db).query(subject_id=asset_id, limit=100)
    return [(e.action, e.consent_version) for e in page.entries]


def test_local_tagging_without_cloud_consent_never_calls_the_cloud(
    client: TestClient, tokens: dict[str, str], platform: Platform, emulator: CloudTaggerEmulator
) -> None:
    asset = upload(client, tokens["write"], "s1", "coffee", ["Tank", "pixel art"])
    r = tag(client, tokens["write"], asset, {
        "processing_options": {"use_cloud_fallback": True, "accuracy_mode": "accurate"},
        "consent": {"version": "1.0", "allows_cloud_processing": True},
    })  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= ADR_KEYS
    assert body["consent_version"] == 0  # never set: privacy-by-default flags
    assert emulator.requests == []  # a request cannot widen consent
    assert body["cloud"]["called"] is False
    assert body["cloud"]["reason"] == "no consent to cloud processing"
    names = {(t["category"], t["name"]): t for t in body["tags"]}
    assert names[("object_type", "tank")]["source_model"] == "creator-tags@1.0"
    assert ("art_style", "pixel_art") in names
    for t in body["tags"]:
        assert 0.0 <= t["confidence"] <= 1.0 and "@" in t["source_model"]
    assert "tagfeat-lite0@pad-style-1" in body["models_used"]
    assert 0.0 <= body["quality_score"] <= 1.0
    stored = client.get(f"/api/v1/assets/{asset}/tags", headers=bearer(tokens["read"])).json()
    assert stored["tags"] == body["tags"] and stored["consent_version"] == 0
    assert ("tagging.processed", 0) in audit_actions(platform, asset)


def test_top_k_returns_the_ranking_the_floor_would_hide(
    client: TestClient, tokens: dict[str, str], platform: Platform
) -> None:
    asset = upload(client, tokens["write"], "s6", "rocket", [])
    plain = tag(client, tokens["write"], asset).json()
    floor = platform.settings.tagging.output_min_confidence
    assert all(t["above_threshold"] and t["confidence"] >= floor for t in plain["tags"])
    body = tag(client, tokens["write"], asset, {"processing_options": {"top_k": 3}}).json()
    by_category: dict[str, list[dict]] = {}
    for t in body["tags"]:
        by_category.setdefault(t["category"], []).append(t)
    # Zero-shot ranks every object type: the caller gets three, best first, and the
    # ones under the floor are returned and marked rather than dropped.
    ranked = by_category["object_type"]
    assert len(ranked) == 3
    assert [t["confidence"] for t in ranked] == sorted((t["confidence"] for t in ranked),
                                                       reverse=True)  # fmt: skip
    assert all(t["above_threshold"] == (t["confidence"] >= floor) for t in body["tags"])
    assert all(len(tags) <= 3 for tags in by_category.values())
    shown = {(t["category"], t["name"]) for t in plain["tags"]}
    assert shown <= {(t["category"], t["name"]) for t in body["tags"]}


def test_cloud_fallback_with_consent_and_narrowing_by_the_request(
    client: TestClient, tokens: dict[str, str], platform: Platform, emulator: CloudTaggerEmulator
) -> None:
    asset = upload(client, tokens["write"], "s2", "rocket", [])
    put = client.put("/api/v1/users/s2/consent", headers=bearer(tokens["write"]),
                     json={"allows_cloud_processing": True})  # fmt: skip
    assert put.status_code == 200, put.text
    # A generous budget: the first request of a process also loads the models.
    slow_ok = {"use_cloud_fallback": True, "max_processing_time": 60000}
    r = tag(client, tokens["write"], asset, {"processing_options": slow_ok})
    body = r.json()
    assert len(emulator.requests) == 1 and body["cloud"]["called"] is True
    assert body["consent_version"] == 1
    tank = next(t for t in body["tags"] if t["name"] == "tank")
    assert tank["source_model"] == "cloud-generic@emu-1"
    assert "cloud-generic@emu-1" in body["models_used"]
    # The same owner, but this request withdraws cloud consent: no call.
    r = tag(client, tokens["write"], asset, {
        "processing_options": {"use_cloud_fallback": True},
        "consent": {"allows_cloud_processing": False},
    })  # fmt: skip
    assert len(emulator.requests) == 1 and r.json()["cloud"]["called"] is False
    # Consent given but the request did not ask for the cloud: no call either.
    tag(client, tokens["write"], asset, {"processing_options": {"accuracy_mode": "accurate"}})
    assert len(emulator.requests) == 1
    assert [a for a, _ in audit_actions(platform, asset)].count("tagging.processed") == 3


def test_enterprise_policy_wins_over_user_consent(
    tmp_path: Path, emulator: CloudTaggerEmulator
) -> None:
    p = make_platform(tmp_path, emulator, enterprise_forbid_cloud=True)
    try:
        with TestClient(create_app(p, start_background=False)) as c:
            token = p.keys.create(["write"]).token
            asset = upload(c, token, "s3", "coffee", [])
            c.put("/api/v1/users/s3/consent", headers=bearer(token),
                  json={"allows_cloud_processing": True})  # fmt: skip
            body = tag(c, token, asset, {"processing_options": {"force_cloud": True}}).json()
            assert emulator.requests == []
            assert body["cloud"]["reason"] == "enterprise policy forbids cloud processing"
    finally:
        p.close()


def test_no_ai_consent_is_403_and_audited(
    client: TestClient, tokens: dict[str, str], platform: Platform
) -> None:
    asset = upload(client, tokens["write"], "s4", "coffee", [])
    client.put("/api/v1/users/s4/consent", headers=bearer(tokens["write"]),
               json={"allows_ai_processing": False})  # fmt: skip
    r = tag(client, tokens["write"], asset)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "AI processing" in r.json()["detail"]
    assert ("tagging.refused", 1) in audit_actions(platform, asset)


def test_bad_requests_are_clear_4xx(client: TestClient, tokens: dict[str, str]) -> None:
    asset = upload(client, tokens["write"], "s5", "coffee", [])
    w = bearer(tokens["write"])
    assert client.post("/api/v1/assets/nope/tags", headers=w, json={}).status_code == 404
    assert client.post("/api/v1/assets/nope/tags", headers=w).status_code == 404  # body optional
    for body, loc in (
        ({"processing_options": {"accuracy_mode": "x"}}, ["processing_options", "accuracy_mode"]),
        ({"processing_options": {"min_confidence": 1.5}}, ["processing_options", "min_confidence"]),
        ({"processing_options": {"use_cloud_fallback": "yes"}},
         ["processing_options", "use_cloud_fallback"]),
        ({"processing_options": {"cloud": True}}, ["processing_options", "cloud"]),
        ({"processing_options": {"top_k": 0}}, ["processing_options", "top_k"]),
        ({"processing_options": {"top_k": 51}}, ["processing_options", "top_k"]),
        ({"processing_options": {"top_k": 2.5}}, ["processing_options", "top_k"]),
        ({"consent": {"allows_cloud_processing": "true"}}, ["consent", "allows_cloud_processing"]),
        ({"consent": {"allows_everything": True}}, ["consent", "allows_everything"]),
        ({"bogus": 1}, ["bogus"]),
    ):  # fmt: skip
        r = tag(client, tokens["write"], asset, body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert ["body", *loc] in [e["loc"] for e in r.json()["errors"]], r.text
    as_json = w | {"content-type": "application/json"}
    bad = client.post(f"/api/v1/assets/{asset}/tags", headers=as_json, content=b"{not json")
    assert bad.status_code == 400
    assert (
        client.get(f"/api/v1/assets/{asset}/tags", headers=bearer(tokens["read"])).status_code
        == 404
    )
    assert tag(client, tokens["read"], asset).status_code == 403  # read scope cannot tag
    url = f"/api/v1/assets/{asset}/tags/feedback"
    fb = client.post(
        url, headers=w, json={"items": [{"name": "no-such-tag", "verdict": "confirm"}]}
    )
    assert fb.status_code == 422 and "not in the taxonomy" in fb.json()["detail"]
    for body, loc in (
        ({"items": [{"name": "tank", "verdict": "maybe"}]}, ["items", 0, "verdict"]),
        ({"items": [{"verdict": "confirm"}]}, ["items", 0, "name"]),
        ({"items": []}, ["items"]),
        ({"items": [{"name": "tank", "verdict": "confirm"}] * 201}, ["items"]),
        ({"items": [{"name": "tank", "verdict": "confirm"}], "role": "owner"}, ["role"]),
        ({"items": [{"name": "tank", "verdict": "confirm", "weight": 2}]}, ["items", 0, "weight"]),
    ):
        r = client.post(url, headers=w, json=body)
        assert r.status_code == 422, (body, r.text)
        assert ["body", *loc] in [e["loc"] for e in r.json()["errors"]], r.text
    as_moderator = {"role": "moderator", "items": [{"name": "tank", "verdict": "confirm"}]}
    fb = client.post(url, headers=w, json=as_moderator)
    assert fb.status_code == 403 and "'moderator' scope" in fb.json()["detail"]
    as_creator = {"items": [{"name": "tank", "verdict": "confirm"}]}
    assert client.post(url, headers=bearer(tokens["read"]), json=as_creator).status_code == 403
    assert client.post("/api/v1/tagging/train", headers=w).status_code == 403


def feedback(client: TestClient, token: str, asset: str, items: list[tuple[str, str]]) -> dict:
    r = client.post(f"/api/v1/assets/{asset}/tags/feedback", headers=bearer(token),
                    json={"items": [{"name": n, "verdict": v} for n, v in items]})  # fmt: skip
    assert r.status_code == 200, r.text
    return r.json()


def head_models(tag: dict) -> list[str]:
    return [m for m in (tag["source_model"], *tag.get("agreed_by", [])) if "tag-heads@" in m]


def head_tags(body: dict) -> dict[str, float]:
    return {t["name"]: t["confidence"] for t in body["tags"] if head_models(t)}


NAMES = ("coffee", "rocket", "chelsea")
LABELS = {"coffee": "item", "rocket": "spaceship", "chelsea": "alien"}


def upload_pairs(client: TestClient, token: str, seller: str) -> dict[str, str]:
    """Two assets per subject (the second mirrored): enough confirmed tags for a holdout
    in which every held-out tag keeps a training example."""
    out = {name: upload(client, token, seller, name, []) for name in NAMES}
    out |= {f"{n}2": upload(client, token, seller, n, [], mirrored=True) for n in NAMES}
    return out


def test_feedback_trains_heads_only_with_training_consent_through_the_gate(
    client: TestClient, tokens: dict[str, str], platform: Platform
) -> None:
    w, admin = tokens["write"], tokens["admin"]
    assets = upload_pairs(client, w, "s6")
    drain_pipeline(platform)  # the pipeline step tags (and embeds) every asset
    for asset in assets.values():
        assert (
            client.get(f"/api/v1/assets/{asset}/tags", headers=bearer(tokens["read"])).status_code
            == 200
        )
    out = feedback(client, w, assets["coffee"], [("item", "confirm")])
    assert out["used_for_training"] is False  # training consent is off by default
    refused = client.post("/api/v1/tagging/train", headers=bearer(admin))
    assert refused.status_code == 422 and "confirmed tags" in refused.json()["detail"]
    client.put("/api/v1/users/s6/consent", headers=bearer(w), json={"allows_model_training": True})
    for key, asset in assets.items():
        label = LABELS[key.rstrip("2")]
        assert feedback(client, w, asset, [(label, "confirm")])["used_for_training"]
    first = client.post("/api/v1/tagging/train", headers=bearer(admin)).json()
    assert first["model"] == "tag-heads@1"
    assert first["decision"] == "champion" and first["promoted"] is True
    cat = tag(client, w, assets["chelsea"]).json()
    assert "tag-heads@1" in cat["models_used"]
    before = head_tags(cat)
    assert before.get("alien", 0) > max(before.get("item", 0), before.get("spaceship", 0))
    # A moderator corrects the cat: it is an enemy, not an alien.
    correction = {"items": [{"name": "alien", "verdict": "reject"},
                            {"name": "enemy", "verdict": "confirm"}]}  # fmt: skip
    # Sent twice within the request: the rows are kept, the outcomes counted once.
    twice = {"items": correction["items"] * 2}
    r = client.post(f"/api/v1/assets/{assets['chelsea']}/tags/feedback",
                    headers=bearer(tokens["moderator"]), json=twice)  # fmt: skip
    assert r.status_code == 200 and r.json()["recorded"] == 4
    # Each first review of a tag heads@1 suggested is its impression, a confirmation a click.
    reviewed = [(t["name"], t["name"] != "alien") for t in cat["tags"]
                if t["name"] in ("alien", "enemy") and "tag-heads@1" in head_models(t)]  # fmt: skip
    outcome = version_stats(platform.db, "tag-heads", "1", None)  # written with the review
    assert outcome.impressions == len(reviewed) >= 1
    assert outcome.clicks == sum(confirmed for _, confirmed in reviewed)
    # The same tags reviewed again by another request count no more.
    r = client.post(f"/api/v1/assets/{assets['chelsea']}/tags/feedback",
                    headers=bearer(tokens["moderator"]), json=correction)  # fmt: skip
    assert r.status_code == 200 and r.json()["recorded"] == 2
    again = version_stats(platform.db, "tag-heads", "1", None)
    assert (again.impressions, again.clicks) == (outcome.impressions, outcome.clicks)
    # The retrain is gated: heads with no gain on the holdout are registered and
    # rejected, and the champion keeps serving.
    second = client.post("/api/v1/tagging/train", headers=bearer(admin)).json()
    assert second["model"] == "tag-heads@2"
    assert second["decision"] == "rejected" and second["promoted"] is False, second
    assert "champion" in second["reason"]
    assert "tag-heads@1" in tag(client, w, assets["chelsea"]).json()["models_used"]
    assert platform.model_registry.deployment("tag-heads").champion == "1"
    # Withdrawn training consent: the owner's rows leave the next training set.
    client.put("/api/v1/users/s6/consent", headers=bearer(w), json={"allows_model_training": False})
    assert client.post("/api/v1/tagging/train", headers=bearer(admin)).status_code == 422


def test_enough_new_feedback_retrains_the_heads_by_itself_through_the_gate(
    tmp_path: Path, emulator: CloudTaggerEmulator
) -> None:
    from agora.mlops.tasks import TaskContext, TaskRegistry, call_task

    settings = Settings.load(
        data_dir=tmp_path / "agora",
        tagging={"cloud_provider": "generic", "cloud_url": emulator.url,
                 "retrain_min_feedback": 6},
    )  # fmt: skip
    p = Platform.build(settings)
    try:
        with TestClient(create_app(p, start_background=False)) as c:
            w = p.keys.create(["write"]).token
            mod = p.keys.create(["moderator"]).token
            assets = upload_pairs(c, w, "s7")
            drain_pipeline(p)
            c.put("/api/v1/users/s7/consent", headers=bearer(w),
                  json={"allows_model_training": True})  # fmt: skip
            retrainer = p.tagging.retrainer
            out = [
                feedback(c, w, asset, [(LABELS[key.rstrip("2")], "confirm")])
                for key, asset in assets.items()
            ]
            assert [o["retrain_due"] for o in out] == [False] * 5 + [True]
            assert out[-1]["retrain_started"] is True
            assert retrainer.wait(120) and retrainer.last_error is None
            first = tag(c, w, assets["chelsea"]).json()
            assert "tag-heads@1" in first["models_used"]
            assert head_tags(first).get("alien", 0) > head_tags(first).get("enemy", 0)
            assert p.model_registry.deployment("tag-heads").champion == "1"
            # Six more rows retrain again with no train call; the gate holds the champion.
            correction = {"items": [{"name": "alien", "verdict": "reject"},
                                    {"name": "enemy", "verdict": "confirm"}]}  # fmt: skip
            r = c.post(f"/api/v1/assets/{assets['chelsea']}/tags/feedback",
                       headers=bearer(mod), json=correction)  # fmt: skip
            assert r.json()["retrain_due"] is False
            for key in ("coffee", "rocket", "coffee2", "rocket2"):  # 2 + 4 rows
                reviewed = feedback(c, w, assets[key], [(LABELS[key.rstrip("2")], "confirm")])
            assert reviewed["retrain_due"] and reviewed["retrain_started"]
            assert retrainer.wait(120) and retrainer.last_error is None
            history = p.model_registry.history("tag-heads")
            assert history[-1].version == "2" and history[-1].action == GATE_REJECTED
            assert "tag-heads@1" in tag(c, w, assets["chelsea"]).json()["models_used"]
            # The scheduler's task finds nothing due now: the rejected run saw that feedback.
            tasks = TaskRegistry({"tagging_retrain": "agora.tagging.tasks:retrain_if_due"})
            fn = tasks.resolve("tagging_retrain")
            assert call_task(fn, p, TaskContext(), {}) == {"due": False, "trained": None}
    finally:
        p.close()


def drain_index_events(platform: Platform) -> None:
    """Run the search index's consumer on the queued ``asset.updated`` events."""
    consumer = Consumer(
        platform.bus, Topics.ASSET_UPDATED, INDEX_GROUP,
        index_event_handler(platform.db, platform.indexer),
        name="test-index", settings=platform.settings.bus,
        ledger=SqlIdempotencyLedger(platform.db),
    )  # fmt: skip
    while consumer.run_once(50, block_ms=0) > 0:
        pass


def search_ids(client: TestClient, token: str, q: str, **filters: str) -> list[str]:
    params = {"q": q, "mode": "keyword", **filters}
    r = client.get("/api/v1/search", params=params, headers=bearer(token))
    assert r.status_code == 200, r.text
    return [h["id"] for h in r.json()["hits"]]


def test_confirmed_tags_become_the_asset_s_tags_and_rejections_take_them_back(
    client: TestClient, tokens: dict[str, str], platform: Platform
) -> None:
    w, mod, read = tokens["write"], tokens["moderator"], tokens["read"]
    asset = upload(client, w, "s8", "coffee", ["Tank", "Spritesheet"])
    other = upload(client, w, "s8", "rocket", [])
    drain_pipeline(platform)
    drain_index_events(platform)
    assert search_ids(client, read, "sprite", tags="pixel art") == []
    assert asset not in search_ids(client, read, "pixel")

    items = [("pixel_art", "confirm"), ("sprite_sheet", "confirm"), ("tank", "confirm")]
    out = feedback(client, w, asset, items)
    # Only the new tag is written, spelled as its label; the creator's own spellings of
    # the other two ("Spritesheet" is a synonym of sprite_sheet) stand.
    assert out["added"] == ["pixel art"] and out["removed"] == []
    assert out["tags"] == ["Tank", "Spritesheet", "pixel art"]
    view = client.get(f"/api/v1/assets/{asset}", headers=bearer(read)).json()
    assert view["tags"] == out["tags"]
    # Idempotent: the same confirmation again changes nothing (not even the revision).
    again = feedback(client, w, asset, items)
    assert again["added"] == [] and again["tags"] == out["tags"]
    assert client.get(f"/api/v1/assets/{asset}", headers=bearer(read)).json() == view

    drain_index_events(platform)  # the asset.updated event re-indexes the asset
    assert search_ids(client, read, "sprite", tags="pixel art") == [asset]
    assert asset in search_ids(client, read, "pixel")  # BM25 reads the tags
    assert other not in search_ids(client, read, "pixel")

    # A moderator (the role defaults to the key's highest) rejects the written tag and
    # the creator's "Tank": only what feedback added leaves the asset.
    r = client.post(f"/api/v1/assets/{asset}/tags/feedback", headers=bearer(mod), json={
        "items": [{"name": "pixel_art", "verdict": "reject"}, {"name": "tank", "verdict": "reject"}]
    })  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["removed"] == ["pixel art"] and r.json()["added"] == []
    assert r.json()["tags"] == ["Tank", "Spritesheet"]
    drain_index_events(platform)
    assert search_ids(client, read, "sprite", tags="pixel art") == []
    assert asset not in search_ids(client, read, "pixel")
    assert client.get(f"/api/v1/assets/{asset}", headers=bearer(read)).json()["tags"] == [
        "Tank",
        "Spritesheet",
    ]
    entries = AuditLog(platform.db).query(subject_id=asset, limit=100).entries
    roles = [e.details["role"] for e in entries if e.action == "tagging.feedback"]
    assert sorted(roles) == ["creator", "creator", "moderator"]
    changes = [e.details for e in entries if e.action == "asset.updated"]
    assert {"fields": ["tags"], "added": ["pixel art"], "removed": []} in changes
    assert {"fields": ["tags"], "added": [], "removed": ["pixel art"]} in changes


def test_a_tag_the_creator_removed_is_theirs_to_add_again(
    client: TestClient, tokens: dict[str, str], platform: Platform
) -> None:
    """A written-back tag the creator deletes (PATCH) is forgotten at the next feedback:
    added again by the creator, it is theirs, and a rejection leaves it alone."""
    w = tokens["write"]
    asset = upload(client, w, "s9", "coffee", ["retro"])
    assert feedback(client, w, asset, [("enemy", "confirm")])["added"] == ["enemy"]
    url = f"/api/v1/assets/{asset}"
    assert client.patch(url, headers=bearer(w), json={"tags": ["retro"]}).status_code == 200
    out = feedback(client, w, asset, [("enemy", "reject")])
    assert out["removed"] == [] and out["tags"] == ["retro"]
    patch = {"tags": ["retro", "enemy"]}
    assert client.patch(url, headers=bearer(w), json=patch).status_code == 200
    out = feedback(client, w, asset, [("enemy", "reject")])
    assert out["removed"] == [] and out["tags"] == ["retro", "enemy"]


# --- the taxonomy, batch feedback, resets, one retrain per round ------------------


def problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()


def upload_titled(client: TestClient, token: str, seller: str, title: str, tags: list[str]) -> str:
    meta = {"seller_id": seller, "title": title, "price": 2, "currency": "USD", "tags": tags}
    files = [("metadata", (None, json.dumps(meta))), ("images", ("p.png", photo("rocket")))]
    client.put(f"/api/v1/sellers/{seller}", headers=bearer(token), json={"name": seller})
    r = client.post("/api/v1/assets", headers=bearer(token), files=files)
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def labels_of(view: dict, category: str) -> dict[str, dict]:
    cat = next(c for c in view["categories"] if c["name"] == category)
    return {lb["name"]: lb for lb in cat["labels"]}


def test_the_taxonomy_is_managed_through_the_api_and_served_without_a_restart(
    client: TestClient, tokens: dict[str, str], platform: Platform
) -> None:
    from agora.tagging.taxonomy_store import TaxonomyStore, seed_document

    read, w, admin = bearer(tokens["read"]), bearer(tokens["write"]), bearer(tokens["admin"])
    first = client.get("/api/v1/tagging/taxonomy", headers=read).json()
    assert first["version"] == 1 and first["updated_by"] == "system:seed"
    assert "tank" in labels_of(first, "object_type")
    asset = upload_titled(client, tokens["write"], "t1", "Zeppelin over the harbour", ["dirigible"])
    url = f"/api/v1/assets/{asset}/tags/feedback"
    zeppelin = {"items": [{"name": "zeppelin", "verdict": "confirm"}]}
    assert (
        "not in the taxonomy" in problem(client.post(url, headers=w, json=zeppelin), 422)["detail"]
    )
    assert all(t["name"] != "zeppelin" for t in tag(client, tokens["write"], asset).json()["tags"])

    label = {"synonyms": ["airship", "dirigible"],
             "descriptions": {"en": "a zeppelin, a rigid airship floating in the sky"}}  # fmt: skip
    put_url = "/api/v1/tagging/taxonomy/labels/object_type/zeppelin"
    assert client.put(put_url, headers=w, json=label).status_code == 403  # admin only
    r = client.put(put_url, headers=admin, json=label)
    assert r.status_code == 201, r.text
    assert r.json() == {"version": 2, "category": "object_type", "created": True, "changed": True,
                        "label": {"name": "zeppelin", **label}}  # fmt: skip
    same = client.put(put_url, headers=admin, json=label)  # idempotent: no new version
    assert same.status_code == 200 and same.json()["version"] == 2 and not same.json()["changed"]
    view = client.get("/api/v1/tagging/taxonomy", headers=read).json()
    assert view["version"] == 2 and labels_of(view, "object_type")["zeppelin"]["synonyms"] == [
        "airship", "dirigible"]  # fmt: skip

    # The same service, no restart: the creator's synonym resolves to the new label and
    # the zero-shot text prototypes include it.
    tagged = tag(client, tokens["write"], asset, {"processing_options": {"top_k": 3}}).json()
    found = {t["name"]: t for t in tagged["tags"] if t["category"] == "object_type"}
    assert "zeppelin" in found, tagged["tags"]
    models = {found["zeppelin"]["source_model"], *found["zeppelin"].get("agreed_by", [])}
    assert {"creator-tags@1.0", "zeroshot-text@1.0"} <= models, found["zeppelin"]
    out = client.post(url, headers=w, json=zeppelin)
    # Accepted; the creator's own spelling of it ("dirigible", a synonym) stands.
    assert out.status_code == 200 and out.json()["tags"] == ["dirigible"], out.text
    assert (asset, "object_type", "zeppelin") in feedback_rows(platform)

    # A change written by another process (its own store on the same database) is
    # served at the next request here.
    other = TaxonomyStore(platform.db, seed_document())
    assert other.put_label("theme", "steampunk", synonyms=["brass"], actor="other",
                           audit=platform.audit).version == 3  # fmt: skip
    brass = upload_titled(client, tokens["write"], "t1", "Gears", ["brass"])
    themed = tag(client, tokens["write"], brass).json()["tags"]
    assert ("theme", "steampunk") in {(t["category"], t["name"]) for t in themed}

    # Deleting: a new version, the label leaves suggestions and feedback.
    assert client.delete(put_url, headers=w).status_code == 403
    gone = client.delete(put_url, headers=admin)
    assert gone.status_code == 200 and gone.json()["version"] == 4 and gone.json()["label"] is None
    assert (
        "not in the taxonomy" in problem(client.post(url, headers=w, json=zeppelin), 422)["detail"]
    )
    assert all(t["name"] != "zeppelin" for t in tag(client, tokens["write"], asset).json()["tags"])
    problem(client.delete(put_url, headers=admin), 404)

    changes = AuditLog(platform.db).query(action="tagging.taxonomy_changed").entries
    assert sorted((e.subject_id, e.details["action"]) for e in changes) == [
        ("2", "label_created"), ("3", "label_created"), ("4", "label_deleted")]  # fmt: skip

    # Bad input: problem+json naming the field.
    assert client.get("/api/v1/tagging/taxonomy").status_code == 401
    for path, body, loc in (
        ("/object_type/Zeppelin", label, ["path", "name"]),
        ("/Object-Type/zeppelin", label, ["path", "category"]),
        ("/object_type/zeppelin", {"synonyms": "airship"}, ["body", "synonyms"]),
        ("/object_type/zeppelin", {"synonym": ["airship"]}, ["body", "synonym"]),
        ("/object_type/zeppelin", {"descriptions": {"english": "x"}},
         ["body", "descriptions", "english", "[key]"]),
    ):  # fmt: skip
        r = client.put(f"/api/v1/tagging/taxonomy/labels{path}", headers=admin, json=body)
        assert loc in [e["loc"] for e in problem(r, 422)["errors"]], r.text
    dup = client.put("/api/v1/tagging/taxonomy/labels/art_style/tank", headers=admin, json={})
    assert "two categories" in problem(dup, 422)["detail"]
    assert client.get("/api/v1/tagging/taxonomy", headers=read).json()["version"] == 4


def feedback_rows(platform: Platform) -> list[tuple[str, str, str]]:
    from sqlalchemy import select

    from agora.tagging.tables import TagFeedbackRow

    with platform.db.session() as s:
        rows = s.execute(select(TagFeedbackRow).order_by(TagFeedbackRow.id)).scalars()
        return [(r.asset_id, r.category, r.label) for r in rows]


@pytest.fixture
def retraining(
    tmp_path: Path, emulator: CloudTaggerEmulator
) -> Iterator[tuple[Platform, TestClient]]:
    """A platform that retrains by itself after 6 consented feedback rows."""
    settings = Settings.load(
        data_dir=tmp_path / "agora",
        tagging={"cloud_provider": "generic", "cloud_url": emulator.url,
                 "retrain_min_feedback": 6},
    )  # fmt: skip
    p = Platform.build(settings)
    try:
        with TestClient(create_app(p, start_background=False)) as c:
            yield p, c
    finally:
        p.close()


def test_batch_feedback_is_all_or_nothing_and_starts_one_retrain(
    retraining: tuple[Platform, TestClient],
) -> None:
    p, c = retraining
    w, read = p.keys.create(["write"]).token, p.keys.create(["read"]).token
    assets = upload_pairs(c, w, "b1")
    drain_pipeline(p)
    c.put("/api/v1/users/b1/consent", headers=bearer(w), json={"allows_model_training": True})
    items = [{"asset_id": a, "name": LABELS[k.rstrip("2")], "verdict": "confirm"}
             for k, a in assets.items()]  # fmt: skip
    url = "/api/v1/tagging/feedback"
    # One bad item refuses the batch, and nothing of it is recorded.
    for bad, detail in (
        ({"asset_id": assets["coffee"], "name": "no-such-tag", "verdict": "confirm"},
         "items[6]: tag 'no-such-tag' is not in the taxonomy"),
        ({"asset_id": "nope", "name": "item", "verdict": "confirm"},
         "items[6]: asset 'nope' not found"),
    ):  # fmt: skip
        assert problem(c.post(url, headers=bearer(w), json={"items": [*items, bad]}), 422)[
            "detail"] == detail  # fmt: skip
    assert feedback_rows(p) == []
    for body, loc in (
        ({"items": []}, ["items"]),
        ({"items": [items[0]] * 1001}, ["items"]),
        ({"items": [{"name": "item", "verdict": "confirm"}]}, ["items", 0, "asset_id"]),
        ({"items": [{**items[0], "verdict": "maybe"}]}, ["items", 0, "verdict"]),
        ({"items": items, "role": "owner"}, ["role"]),
    ):
        r = c.post(url, headers=bearer(w), json=body)
        assert ["body", *loc] in [e["loc"] for e in problem(r, 422)["errors"]], r.text
    assert c.post(url, headers=bearer(read), json={"items": items}).status_code == 403
    as_mod = c.post(url, headers=bearer(w), json={"items": items, "role": "moderator"})
    assert "'moderator' scope" in problem(as_mod, 403)["detail"]

    r = c.post(url, headers=bearer(w), json={"items": items})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["recorded"] == 6 and out["retrain_due"] and out["retrain_started"]
    assert {a["asset_id"] for a in out["assets"]} == set(assets.values())
    coffee = next(a for a in out["assets"] if a["asset_id"] == assets["coffee"])
    assert coffee["added"] == ["item"] and coffee["used_for_training"] is True
    assert len(feedback_rows(p)) == 6
    assert p.tagging.retrainer.wait(120) and p.tagging.retrainer.last_error is None
    assert p.tagging.retrainer.runs == 1
    assert [v.ref.version for v in p.models.versions("tag-heads")] == ["1"]
    audited = AuditLog(p.db).query(action="tagging.feedback").entries
    assert sorted(e.subject_id for e in audited) == sorted(assets.values())


class ArrivalLock:
    """A lock that counts the threads that came to acquire it (the test sees that
    both retrain triggers are waiting before it lets the first one run)."""

    def __init__(self) -> None:
        self.inner = threading.Lock()
        self.arrivals = threading.Semaphore(0)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        self.arrivals.release()
        return self.inner.acquire(blocking, timeout)

    def release(self) -> None:
        self.inner.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def test_one_round_of_feedback_registers_one_heads_version(
    retraining: tuple[Platform, TestClient],
) -> None:
    """The feedback-triggered retrain and the scheduled ``tagging_retrain`` both fire
    on the same feedback: the one that waited finds nothing new and registers nothing."""
    from agora.mlops.tasks import TaskContext, TaskRegistry, call_task
    from agora.tagging.lease import TrainingLease

    p, c = retraining
    w, admin = p.keys.create(["write"]).token, p.keys.create(["admin"]).token
    assets = upload_pairs(c, w, "r1")
    drain_pipeline(p)
    c.put("/api/v1/users/r1/consent", headers=bearer(w), json={"allows_model_training": True})
    service = p.tagging
    gate = ArrivalLock()
    service._train_lock = gate  # type: ignore[assignment]
    tasks = TaskRegistry({"tagging_retrain": "agora.tagging.tasks:retrain_if_due"})
    scheduled: list[dict] = []
    gate.inner.acquire()  # a run of this process is under way: both triggers wait
    try:
        items = [{"asset_id": a, "name": LABELS[k.rstrip("2")], "verdict": "confirm"}
                 for k, a in assets.items()]  # fmt: skip
        out = c.post("/api/v1/tagging/feedback", headers=bearer(w), json={"items": items}).json()
        assert out["retrain_started"] is True
        task = threading.Thread(target=lambda: scheduled.append(
            call_task(tasks.resolve("tagging_retrain"), p, TaskContext(), {})))  # fmt: skip
        task.start()
        for _ in range(2):  # the background retrain and the scheduled task
            assert gate.arrivals.acquire(timeout=120)
    finally:
        gate.inner.release()
    task.join(120)
    assert service.retrainer.wait(120) and service.retrainer.last_error is None
    assert [v.ref.version for v in p.models.versions("tag-heads")] == ["1"]
    assert scheduled[0]["due"] is True and scheduled[0]["trained"] is None, scheduled

    # Another process trains now (it holds the lease): the automatic runs skip, an
    # explicit train is a 409, and nothing is registered until the lease is free.
    lease = TrainingLease(p.db)
    held = lease.acquire("other-process")
    assert held == "other-process" and lease.acquire() is None
    try:
        more = [{"asset_id": a, "name": "enemy", "verdict": "confirm"} for a in assets.values()]
        out = c.post("/api/v1/tagging/feedback", headers=bearer(w), json={"items": more}).json()
        assert out["retrain_due"] is True
        assert service.retrainer.wait(120) and service.retrainer.last_error is None
        skipped = call_task(tasks.resolve("tagging_retrain"), p, TaskContext(), {})
        assert skipped["due"] is True and skipped["trained"] is None
        problem(c.post("/api/v1/tagging/train", headers=bearer(admin)), 409)
        assert [v.ref.version for v in p.models.versions("tag-heads")] == ["1"]
    finally:
        lease.release(held)
    trained = call_task(tasks.resolve("tagging_retrain"), p, TaskContext(), {})
    assert trained["trained"]["model"] == "tag-heads@2"
    assert [v.ref.version for v in p.models.versions("tag-heads")] == ["1", "2"]


def test_a_reset_deletes_a_category_s_feedback_and_retires_its_heads(
    client: TestClient, tokens: dict[str, str], platform: Platform
) -> None:
    w, admin = tokens["write"], bearer(tokens["admin"])
    assets = upload_pairs(client, w, "x1")
    drain_pipeline(platform)
    client.put("/api/v1/users/x1/consent", headers=bearer(w), json={"allows_model_training": True})

    def confirm_all() -> None:
        items = [{"asset_id": a, "name": LABELS[k.rstrip("2")], "verdict": "confirm"}
                 for k, a in assets.items()]  # fmt: skip
        r = client.post("/api/v1/tagging/feedback", headers=bearer(w), json={"items": items})
        assert r.status_code == 200, r.text

    confirm_all()
    client.post(f"/api/v1/assets/{assets['coffee']}/tags/feedback", headers=bearer(w),
                json={"items": [{"name": "pixel_art", "verdict": "reject"}]})  # fmt: skip
    assert client.post("/api/v1/tagging/train", headers=admin).json()["decision"] == "champion"
    assert head_tags(tag(client, w, assets["chelsea"]).json())  # heads@1 tag object types

    url = "/api/v1/tagging/reset"
    assert client.post(url, headers=bearer(w), json={"category": "object_type"}).status_code == 403
    for body in ({}, {"category": "object_type", "all": True}, {"all": False},
                 {"category": "Object Type"}, {"category": "object_type", "extra": 1}):  # fmt: skip
        problem(client.post(url, headers=admin, json=body), 422)
    problem(client.post(url, headers=admin, json={"category": "no_such"}), 404)

    r = client.post(url, headers=admin, json={"category": "object_type"})
    assert r.status_code == 200, r.text
    assert r.json() == {"category": "object_type", "feedback_deleted": 6, "heads_retired_upto": 1}
    assert feedback_rows(platform) == [(assets["coffee"], "art_style", "pixel_art")]
    after = tag(client, w, assets["chelsea"], {"processing_options": {"top_k": 3}}).json()
    assert head_tags(after) == {}  # heads@1 no longer speaks for object types...
    kinds = {m for t in after["tags"] if t["category"] == "object_type"
             for m in (t["source_model"], *t.get("agreed_by", []))}  # fmt: skip
    assert "zeroshot-image@1.0" in kinds, after["tags"]  # ...zero-shot does again
    entry = AuditLog(platform.db).query(action="tagging.reset").entries[0]
    assert entry.subject_id == "object_type" and entry.details["feedback_deleted"] == 6

    # New confirmations train heads that serve the category again: the retired champion
    # counts as untagged there, so the gate lets the new heads in.
    confirm_all()
    second = client.post("/api/v1/tagging/train", headers=admin).json()
    assert second["model"] == "tag-heads@2" and second["decision"] == "challenger", second

    everything = client.post(url, headers=admin, json={"all": True}).json()
    assert everything == {"category": None, "feedback_deleted": 7, "heads_retired_upto": 2}
    assert feedback_rows(platform) == []
    assert head_tags(tag(client, w, assets["chelsea"]).json()) == {}
