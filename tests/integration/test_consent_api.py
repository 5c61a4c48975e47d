"""Consent, audit and model registry endpoints through the real app (embedded backends)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from agora.api.app import create_app
from agora.config import Settings
from agora.runtime import Platform


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    built = Platform.build(Settings.load(data_dir=tmp_path_factory.mktemp("api")))
    yield built
    built.close()


@pytest.fixture(scope="module")
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform, start_background=False)) as c:
        yield c


def _auth(platform: Platform, *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {platform.keys.create(list(scopes)).token}"}


@pytest.fixture(scope="module")
def keys(platform: Platform) -> dict[str, dict[str, str]]:
    return {s: _auth(platform, s) for s in ("read", "write", "admin")}


def test_consent_put_get_history(client: TestClient, keys: dict[str, Any]) -> None:
    fresh = client.get("/api/v1/users/api-u1/consent", headers=keys["read"])
    assert fresh.status_code == 200
    assert fresh.json() | {"user_id": None} == {
        "user_id": None,
        "allows_ai_processing": True,
        "allows_cloud_processing": False,
        "allows_model_training": False,
        "allows_personalization": True,
        "version": 0,
        "updated_at": None,
        "updated_by": None,
    }
    put = client.put(
        "/api/v1/users/api-u1/consent", headers=keys["write"], json={"allows_model_training": True}
    )
    assert put.status_code == 200, put.text
    assert put.json()["version"] == 1 and put.json()["allows_model_training"] is True
    assert put.json()["updated_at"] and put.json()["updated_by"].startswith("key:")
    client.put(
        "/api/v1/users/api-u1/consent",
        headers=keys["write"],
        json={"allows_personalization": False},
    )
    got = client.get("/api/v1/users/api-u1/consent", headers=keys["read"]).json()
    assert (got["version"], got["allows_model_training"], got["allows_personalization"]) == (
        2,
        True,
        False,
    )
    history = client.get("/api/v1/users/api-u1/consent/history", headers=keys["read"]).json()
    assert [h["version"] for h in history["history"]] == [1, 2]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"allows_everything": True},
        {"allows_ai_processing": "false"},
        {"allows_ai_processing": 1},
    ],
)
def test_bad_consent_bodies_get_422(
    client: TestClient, keys: dict[str, Any], body: dict[str, Any]
) -> None:
    r = client.put("/api/v1/users/api-u2/consent", headers=keys["write"], json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    errors = r.json()["errors"]
    assert errors and all(e["loc"][0] == "body" and e["msg"] for e in errors)
    # Nothing was stored: the user is still at the defaults.
    got = client.get("/api/v1/users/api-u2/consent", headers=keys["read"]).json()
    assert got["version"] == 0


def test_scopes_are_enforced(client: TestClient, keys: dict[str, Any]) -> None:
    assert (
        client.put(
            "/api/v1/users/api-u3/consent",
            headers=keys["read"],
            json={"allows_ai_processing": False},
        ).status_code
        == 403
    )
    assert client.get("/api/v1/users/api-u3/consent").status_code == 401
    assert client.get("/api/v1/audit", headers=keys["write"]).status_code == 403
    assert client.get("/api/v1/audit/verify", headers=keys["read"]).status_code == 403


def test_audit_lists_and_verifies(
    client: TestClient, keys: dict[str, Any], platform: Platform
) -> None:
    for user in ("api-u4", "api-u5"):  # at least two entries, whatever ran before
        client.put(
            f"/api/v1/users/{user}/consent",
            headers=keys["write"],
            json={"allows_cloud_processing": True},
        )
    r = client.get(
        "/api/v1/audit",
        headers=keys["admin"],
        params={"subject_type": "user", "subject_id": "api-u4"},
    )
    assert r.status_code == 200
    entries = r.json()["entries"]
    assert [(e["action"], e["consent_version"]) for e in entries] == [("consent.updated", 1)]
    page = client.get("/api/v1/audit", headers=keys["admin"], params={"limit": 1}).json()
    assert len(page["entries"]) == 1 and page["next_cursor"]
    assert (
        client.get("/api/v1/audit", headers=keys["admin"], params={"limit": 0}).status_code == 422
    )
    assert (
        client.get("/api/v1/audit", headers=keys["admin"], params={"cursor": "x"}).status_code
        == 422
    )
    ok = client.get("/api/v1/audit/verify", headers=keys["admin"]).json()
    assert ok["ok"] is True and ok["entries_checked"] >= 1


def test_tampered_audit_is_reported(tmp_path: Path) -> None:
    # A separate platform: tampering must not leak into the shared module one.
    built = Platform.build(Settings.load(data_dir=tmp_path))
    try:
        for i in range(3):
            built.audit.record("key:x", "asset.banned", "asset", f"a-{i}")
        with built.db.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
        with TestClient(create_app(built, start_background=False)) as c:
            report = c.get("/api/v1/audit/verify", headers=_auth(built, "admin")).json()
        assert report["ok"] is False and report["first_bad_seq"] == 2
    finally:
        built.close()


def test_models_endpoints(client: TestClient, keys: dict[str, Any], platform: Platform) -> None:
    ref = platform.models.save(
        "api-clf", {"w": 1}, params={"C": 1.0}, metrics={"f1": 0.9}, features=["tfidf"]
    )
    platform.models.set_alias("api-clf", "champion", ref.version)
    listed = client.get("/api/v1/models", headers=keys["read"]).json()["models"]
    model = next(m for m in listed if m["name"] == "api-clf")
    assert model["aliases"] == {"champion": "1"} and model["latest_version"] == "1"
    one = client.get("/api/v1/models/api-clf", headers=keys["read"]).json()
    assert one["versions"][0]["metrics"] == {"f1": 0.9}
    v = client.get("/api/v1/models/api-clf/versions/1", headers=keys["read"]).json()
    assert v["ref"] == "api-clf@1" and v["features"] == ["tfidf"]
    assert client.get("/api/v1/models/nope", headers=keys["read"]).status_code == 404
    assert client.get("/api/v1/models/api-clf/versions/9", headers=keys["read"]).status_code == 404
