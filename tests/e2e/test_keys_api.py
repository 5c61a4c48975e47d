"""``/api/v1/keys``: admins create (token shown once), list (paginated, never a
secret) and revoke keys; every write is audited with the calling key; errors
are problem+json; the last active admin key cannot be revoked over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient

from agora.runtime import Platform

PROBLEM = "application/problem+json"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _key_id(token: str) -> str:
    return token.split("_", 2)[1]


def test_create_returns_the_token_once_and_it_works(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    admin = _auth(tokens["admin"])
    body = {"scopes": ["read", "write"], "name": "shop", "rate_limit_per_minute": 120}
    r = client.post("/api/v1/keys", json=body, headers=admin)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["scopes"] == ["read", "write"] and made["name"] == "shop"
    assert made["rate_limit_per_minute"] == 120 and made["quota_per_day"] is None
    assert made["revoked"] is False and made["token"].startswith(f"agora_{made['id']}_")
    principal = platform.keys.authenticate(made["token"])
    assert principal.scopes == frozenset({"read", "write"})
    assert principal.rate_limit_per_minute == 120
    # The token is never shown again.
    listed = client.get("/api/v1/keys", headers=admin).json()["items"]
    assert made["id"] in [k["id"] for k in listed]
    assert all("token" not in k and "secret_hash" not in k for k in listed)
    entries = platform.audit.query(action="api_key.created", subject_id=made["id"]).entries
    assert [e.actor for e in entries] == [f"key:{_key_id(tokens['admin'])}"]
    assert entries[0].details["scopes"] == ["read", "write"]


def test_bad_input_is_a_problem(client: TestClient, tokens: dict[str, str]) -> None:
    admin = _auth(tokens["admin"])
    for body in (
        {"scopes": ["root"]},
        {"scopes": []},
        {"scopes": ["read"], "rate_limit_per_minute": 0},
        {"scopes": ["read"], "scope": "typo"},
    ):
        r = client.post("/api/v1/keys", json=body, headers=admin)
        assert r.status_code == 422, body
        assert r.headers["content-type"].startswith(PROBLEM)
    unknown = client.post("/api/v1/keys", json={"scopes": ["root"]}, headers=admin).json()
    # The error names the field and the scopes to choose from.
    assert unknown["errors"][0]["loc"] == ["body", "scopes", 0]
    assert "'moderator'" in unknown["errors"][0]["msg"]
    r = client.get("/api/v1/keys", params={"cursor": "not-a-cursor"}, headers=admin)
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)


def test_only_admins_manage_keys(client: TestClient, tokens: dict[str, str]) -> None:
    for scope in ("read", "write", "moderator"):
        headers = _auth(tokens[scope])
        assert client.get("/api/v1/keys", headers=headers).status_code == 403
        r = client.post("/api/v1/keys", json={"scopes": ["read"]}, headers=headers)
        assert r.status_code == 403 and r.headers["content-type"].startswith(PROBLEM)
        assert (
            client.delete(f"/api/v1/keys/{_key_id(tokens['read'])}", headers=headers).status_code
            == 403
        )
    assert client.get("/api/v1/keys").status_code == 401


def test_list_is_paginated_oldest_first(client: TestClient, tokens: dict[str, str]) -> None:
    admin = _auth(tokens["admin"])
    for i in range(3):
        client.post("/api/v1/keys", json={"scopes": ["read"], "name": f"k{i}"}, headers=admin)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/keys", params=params, headers=admin).json()
        assert len(page["items"]) <= 2
        seen += [k["id"] for k in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # The four scope keys of the fixture, then the three made here; none twice.
    assert len(seen) == len(set(seen)) == 7
    names = [k["name"] for k in client.get("/api/v1/keys", headers=admin).json()["items"]]
    assert names[-3:] == ["k0", "k1", "k2"]


def test_revoke_stops_the_key_and_is_audited(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    admin = _auth(tokens["admin"])
    victim = _key_id(tokens["write"])
    assert client.get("/api/v1/assets", headers=_auth(tokens["write"])).status_code == 200
    assert client.delete(f"/api/v1/keys/{victim}", headers=admin).status_code == 204
    assert client.get("/api/v1/assets", headers=_auth(tokens["write"])).status_code == 401
    # Idempotent: a second revoke changes nothing and is not audited again.
    assert client.delete(f"/api/v1/keys/{victim}", headers=admin).status_code == 204
    entries = platform.audit.query(action="api_key.revoked", subject_id=victim).entries
    assert [e.actor for e in entries] == [f"key:{_key_id(tokens['admin'])}"]
    active = client.get("/api/v1/keys", params={"include_revoked": "false"}, headers=admin)
    assert victim not in [k["id"] for k in active.json()["items"]]
    listed = {k["id"]: k for k in client.get("/api/v1/keys", headers=admin).json()["items"]}
    assert listed[victim]["revoked"] is True and listed[victim]["revoked_at"]

    r = client.delete("/api/v1/keys/nope", headers=admin)
    assert r.status_code == 404 and r.headers["content-type"].startswith(PROBLEM)
    assert "nope" in r.json()["detail"]


def test_the_last_admin_key_cannot_revoke_itself(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    admin = _auth(tokens["admin"])
    own = _key_id(tokens["admin"])
    r = client.delete(f"/api/v1/keys/{own}", headers=admin)
    assert r.status_code == 409 and r.headers["content-type"].startswith(PROBLEM)
    assert "last active admin key" in r.json()["detail"]
    assert client.get("/api/v1/keys", headers=admin).status_code == 200  # still works
    assert platform.audit.query(action="api_key.revoked", subject_id=own).entries == []
    # With a second admin key, revoking one's own is allowed.
    other = client.post("/api/v1/keys", json={"scopes": ["admin"]}, headers=admin).json()
    assert client.delete(f"/api/v1/keys/{own}", headers=admin).status_code == 204
    assert client.get("/api/v1/keys", headers=admin).status_code == 401
    again = client.delete(f"/api/v1/keys/{other['id']}", headers=_auth(other["token"]))
    assert again.status_code == 409
