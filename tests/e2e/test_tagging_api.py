"""Tagging end to end over the API: consent on every path, cloud fallback, feedback -> heads."""

from __future__ import annotations

import io
import json
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
