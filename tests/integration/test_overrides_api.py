"""Global overrides through the API: admin scope, audit, expiry, catalog write-through."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agora.api.app import create_app
from agora.config import Settings
from agora.features.tables import OverrideRow
from agora.runtime import Platform
from agora.storage.tables import AuditEntryRow, SellerRow
from agora.testing.api import bearer

URL = "/api/v1/overrides"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    p = Platform.build(Settings.load(data_dir=tmp_path / "agora"))
    p.people.upsert_seller("s1", {}, "test")
    p.assets.create(
        {"id": "a1", "title": "Oak", "seller_id": "s1", "category": "art"}, [], [], "test"
    )
    p.overrides.cache_s = 0.0  # every read sees the latest change
    yield p
    p.close()


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform, start_background=False)) as c:
        yield c


@pytest.fixture
def admin(platform: Platform) -> dict[str, str]:
    return bearer(platform.keys.create(["admin"]).token)


def test_admin_scope_required(client: TestClient, platform: Platform) -> None:
    writer = bearer(platform.keys.create(["write"]).token)
    body = {"action": "boost", "target": "category", "value": "art"}
    assert client.post(URL, json=body, headers=writer).status_code == 403
    assert client.get(URL, headers=writer).status_code == 403


def test_boost_takes_effect_on_next_read_and_is_audited(
    client: TestClient, platform: Platform, admin: dict[str, str]
) -> None:
    platform.features.online.write(
        "asset", ["a1"], {"category": ["art"]}, datetime.now(UTC).timestamp()
    )
    read = lambda: client.get("/api/v1/features/asset/a1", headers=admin).json()["features"]  # noqa: E731
    assert read()["is_boosted_now"] is False
    boost = {"action": "boost", "target": "category", "value": "art", "multiplier": 2.0}
    r = client.post(URL, json=boost | {"reason": "spring sale"}, headers=admin)
    assert r.status_code == 201, r.text
    created = r.json()
    oid = created["id"]
    assert (created["action"], created["target"], created["multiplier"]) == (
        "boost",
        "category",
        2.0,
    )
    assert created["expires_at"] is None and created["created_by"].startswith("key:")
    assert client.get(f"{URL}/{oid}", headers=admin).json() == created
    assert read()["is_boosted_now"] is True
    snap = platform.overrides.active_overrides()
    assert snap.boost("a1", "s1", "art") == 2.0 and snap.boost("a2", "s1", "3d") == 1.0
    assert [o["id"] for o in client.get(URL, headers=admin).json()["overrides"]] == [oid]
    lifted = client.delete(f"{URL}/{oid}", headers=admin)
    assert lifted.status_code == 200 and lifted.json() == {"deleted": True, "override": created}
    assert read()["is_boosted_now"] is False
    assert client.delete(f"{URL}/{oid}", headers=admin).status_code == 404
    with platform.db.session() as s:
        actions = set(s.scalars(select(AuditEntryRow.action)))
    assert {"override.boost", "override.deleted"} <= actions


def test_asset_and_seller_bans_write_through_to_catalog(
    client: TestClient, platform: Platform, admin: dict[str, str]
) -> None:
    r = client.post(URL, json={"action": "ban", "target": "asset", "value": "a1"}, headers=admin)
    assert r.status_code == 201
    assert platform.assets.get("a1")["status"] == "banned"
    assert platform.overrides.active_overrides().is_banned("a1")
    client.delete(f"{URL}/{r.json()['id']}", headers=admin)
    # Lifting restores what the ban replaced: a1 had not been through the pipeline yet.
    assert platform.assets.get("a1")["status"] == "pending"
    r = client.post(URL, json={"action": "ban", "target": "seller", "value": "s1"}, headers=admin)
    with platform.db.session() as s:
        assert s.get(SellerRow, "s1").banned is True
    mask = platform.overrides.active_overrides().banned_mask(["a1", "a9"], ["s1", "s2"])
    assert mask.tolist() == [True, False]


def test_expiry(client: TestClient, platform: Platform, admin: dict[str, str]) -> None:
    r = client.post(
        URL, json={"action": "ban", "target": "seller", "value": "s1", "ttl_s": 60}, headers=admin
    )
    oid = r.json()["id"]
    later = datetime.now(UTC) + timedelta(seconds=61)
    assert platform.overrides.active_overrides(later).is_banned("x", "s1") is False
    assert platform.overrides.active_overrides().is_banned("x", "s1") is True
    with platform.db.session() as s:  # make it due now, then the sweep lifts the catalog ban
        s.get(OverrideRow, oid).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert platform.overrides.settle_expired() == 1
    with platform.db.session() as s:
        assert s.get(SellerRow, "s1").banned is False
    assert client.get(URL, headers=admin).json()["overrides"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"action": "nuke", "target": "asset", "value": "a1"},
        {"action": "ban", "target": "planet", "value": "x"},
        {"action": "boost", "target": "category", "value": ""},
        {"action": "boost", "target": "category", "value": "art", "multiplier": -1},
        {
            "action": "boost",
            "target": "category",
            "value": "art",
            "expires_at": "2001-01-01T00:00:00Z",
        },
        {"action": "boost", "target": "category", "value": "art", "extra": 1},
        {
            "action": "boost",
            "target": "category",
            "value": "art",
            "ttl_s": 60,
            "expires_at": "2999-01-01T00:00:00Z",
        },
        {"action": "ban", "target": "seller", "value": "s1", "ttl_s": "soon"},
        {"action": "boost", "target": "category", "value": "a\u0000rt"},
    ],
)
def test_bad_bodies_are_422(client: TestClient, admin: dict[str, str], body: dict) -> None:
    r = client.post(URL, json=body, headers=admin)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json().get("errors") or "expires_at" in r.json()["detail"]


def test_unknown_targets_are_404(client: TestClient, admin: dict[str, str]) -> None:
    for target in ("asset", "seller"):
        r = client.post(
            URL, json={"action": "ban", "target": target, "value": "nope"}, headers=admin
        )
        assert r.status_code == 404
    assert client.post(URL, content=b"{not json", headers=admin).status_code in (400, 422)


def _ban_asset(client: TestClient, admin: dict[str, str]) -> str:
    r = client.post(URL, json={"action": "ban", "target": "asset", "value": "a1"}, headers=admin)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _set_status(platform: Platform, status: str) -> None:
    platform.assets.update("a1", {"status": status}, "test", may_moderate=True)


def test_lifting_a_ban_never_publishes_a_flagged_or_blocked_asset(
    client: TestClient, platform: Platform, admin: dict[str, str]
) -> None:
    _set_status(platform, "flagged")
    client.delete(f"{URL}/{_ban_asset(client, admin)}", headers=admin)
    assert platform.assets.get("a1")["status"] == "flagged"
    # Blocked by moderation before the override: lifting the override keeps the block.
    _set_status(platform, "banned")
    client.delete(f"{URL}/{_ban_asset(client, admin)}", headers=admin)
    assert platform.assets.get("a1")["status"] == "banned"


def test_two_bans_restore_once_the_last_is_lifted(
    client: TestClient, platform: Platform, admin: dict[str, str]
) -> None:
    _set_status(platform, "active")
    first, second = _ban_asset(client, admin), _ban_asset(client, admin)
    client.delete(f"{URL}/{first}", headers=admin)
    assert platform.assets.get("a1")["status"] == "banned"
    client.delete(f"{URL}/{second}", headers=admin)
    assert platform.assets.get("a1")["status"] == "active"


def test_lift_right_after_a_cached_read_restores(
    client: TestClient, platform: Platform, admin: dict[str, str]
) -> None:
    platform.overrides.cache_s = 60.0  # a snapshot taken now would still list the ban
    _set_status(platform, "active")
    oid = _ban_asset(client, admin)
    assert platform.overrides.active_overrides().is_banned("a1")
    client.delete(f"{URL}/{oid}", headers=admin)
    assert platform.assets.get("a1")["status"] == "active"
    assert not platform.overrides.active_overrides().is_banned("a1")


def test_seller_banned_before_the_override_stays_banned(
    client: TestClient, platform: Platform, admin: dict[str, str]
) -> None:
    platform.people.upsert_seller("s1", {"banned": True}, "test")
    r = client.post(URL, json={"action": "ban", "target": "seller", "value": "s1"}, headers=admin)
    client.delete(f"{URL}/{r.json()['id']}", headers=admin)
    with platform.db.session() as s:
        assert s.get(SellerRow, "s1").banned is True


def test_seller_boost_shows_in_is_boosted_now(
    client: TestClient, platform: Platform, admin: dict[str, str]
) -> None:
    read = lambda: client.get("/api/v1/features/asset/a1", headers=admin).json()["features"]  # noqa: E731
    assert read()["is_boosted_now"] is False
    boost = {"action": "boost", "target": "seller", "value": "s1", "multiplier": 2.0}
    assert client.post(URL, json=boost, headers=admin).status_code == 201
    assert read()["is_boosted_now"] is True
    got = client.post(
        "/api/v1/features:read",
        json={"entity": "asset", "ids": ["a1", "unknown"], "features": ["is_boosted_now"]},
        headers=admin,
    ).json()["rows"]
    assert [r["features"]["is_boosted_now"] for r in got] == [True, False]
