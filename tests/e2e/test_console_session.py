"""Operator console over TestClient on a real embedded platform: sign-in and
sign-out, idle expiry, CSRF, scopes, and a moderation decision end to end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agora.api.app import create_app
from agora.config import Settings
from agora.console.session import COOKIE
from agora.moderation.queue import QueueFilter
from agora.runtime import Platform
from agora.storage.tables import SellerRow
from agora.testing.api import drain_pipeline
from agora.testing.console import CSRF, sign_in


class Clock:
    """A settable monotonic clock for idle expiry."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    # No trained models: the contact-diversion rule alone flags a listing.
    pipeline = {"disabled_steps": ["index", "tagging"]}
    p = Platform.build(Settings.load(data_dir=tmp_path / "agora", pipeline=pipeline))
    with p.db.session() as s:
        s.add(SellerRow(id="s1", name="Forge"))
    yield p
    p.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_client(platform: Platform, clock: Clock) -> Iterator[TestClient]:
    app = create_app(platform, start_background=False)
    app.state.console_sessions.clock = clock
    with TestClient(app) as c:
        yield c


def flagged_item(platform: Platform) -> tuple[str, str]:
    created = platform.assets.create(
        {"title": "Tank", "description": "whatsapp me on 0812 345 6789", "seller_id": "s1"},
        [],
        [],
        "test",
    )
    drain_pipeline(platform)
    assert platform.assets.get(created.asset_id)["status"] == "flagged"
    items = platform.moderation_queue.items(QueueFilter())["items"]
    item = next(i for i in items if i["asset_id"] == created.asset_id)
    return item["id"], created.asset_id


def test_pages_redirect_to_sign_in_without_a_session(app_client: TestClient) -> None:
    r = app_client.get("/console/catalog?status=active", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/console/sign-in?next=/console/catalog")


def test_sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_it(
    app_client: TestClient, platform: Platform
) -> None:
    token = platform.keys.create(["read"]).token
    form = app_client.get("/console/sign-in")
    pre = CSRF.search(form.text)
    assert pre is not None
    r = app_client.post(
        "/console/sign-in",
        data={"api_key": token, "csrf": pre.group(1), "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/console/"  # no open redirect
    cookie = r.headers["set-cookie"]
    assert f"{COOKIE}=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain HTTP here; https sets it
    assert token not in cookie
    csrf = CSRF.search(app_client.get("/console/").text)
    assert csrf is not None
    out = app_client.post("/console/sign-out", data={"csrf": csrf.group(1)}, follow_redirects=False)
    assert out.status_code == 303
    r = app_client.get("/console/", follow_redirects=False)
    assert r.status_code == 303
    actions = [e.action for e in platform.audit.query(subject_type="api_key").entries]
    assert "console.signed_in" in actions
    assert "console.signed_out" in actions


def test_a_bad_key_is_refused_with_a_message(app_client: TestClient) -> None:
    form = app_client.get("/console/sign-in")
    pre = CSRF.search(form.text)
    assert pre is not None
    r = app_client.post(
        "/console/sign-in", data={"api_key": "agora_nope_nope", "csrf": pre.group(1)}
    )
    assert r.status_code == 401
    assert "does not work" in r.text


def test_sign_in_without_its_csrf_token_is_refused(
    app_client: TestClient, platform: Platform
) -> None:
    token = platform.keys.create(["read"]).token
    app_client.get("/console/sign-in")
    r = app_client.post("/console/sign-in", data={"api_key": token}, follow_redirects=False)
    assert r.status_code == 403
    assert f"{COOKIE}=" not in r.headers.get("set-cookie", "")


def test_idle_sessions_expire(app_client: TestClient, platform: Platform, clock: Clock) -> None:
    sign_in(app_client, platform.keys.create(["read"]).token)
    idle = platform.settings.security.console_idle_timeout_s
    clock.now += idle - 1
    assert app_client.get("/console/", follow_redirects=False).status_code == 200
    clock.now += idle - 1  # activity renewed it
    assert app_client.get("/console/", follow_redirects=False).status_code == 200
    clock.now += idle + 1
    r = app_client.get("/console/", follow_redirects=False)
    assert r.status_code == 303
    assert "/console/sign-in" in r.headers["location"]


def test_a_revoked_key_signs_the_session_out(app_client: TestClient, platform: Platform) -> None:
    created = platform.keys.create(["read"])
    sign_in(app_client, created.token)
    platform.keys.revoke(created.key_id)
    assert app_client.get("/console/", follow_redirects=False).status_code == 303


def test_forms_without_the_csrf_token_are_refused(
    app_client: TestClient, platform: Platform
) -> None:
    item_id, asset_id = flagged_item(platform)
    sign_in(app_client, platform.keys.create(["moderator"]).token)
    url = f"/console/moderation/items/{item_id}/decision"
    for data in ({"decision": "approve"}, {"decision": "approve", "csrf": "forged"}):
        r = app_client.post(url, data=data, follow_redirects=False)
        assert r.status_code == 403
        assert "Form refused" in r.text
    assert platform.assets.get(asset_id)["status"] == "flagged"
    out = app_client.post("/console/sign-out", data={}, follow_redirects=False)
    assert out.status_code == 403


def test_a_key_without_the_moderator_scope_cannot_see_or_decide(
    app_client: TestClient, platform: Platform
) -> None:
    item_id, asset_id = flagged_item(platform)
    csrf = sign_in(app_client, platform.keys.create(["write"]).token)
    overview = app_client.get("/console/")
    assert 'href="/console/moderation"' not in overview.text
    page = app_client.get("/console/moderation")
    assert page.status_code == 403
    assert item_id not in page.text
    assert "moderator" in page.text
    r = app_client.post(
        f"/console/moderation/items/{item_id}/decision",
        data={"decision": "approve", "csrf": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert platform.assets.get(asset_id)["status"] == "flagged"


@pytest.mark.parametrize(("decision", "status"), [("approve", "active"), ("reject", "banned")])
def test_a_moderation_decision_changes_the_asset_status(
    app_client: TestClient, platform: Platform, decision: str, status: str
) -> None:
    item_id, asset_id = flagged_item(platform)
    created = platform.keys.create(["moderator"])
    csrf = sign_in(app_client, created.token)
    queue = app_client.get("/console/moderation")
    assert queue.status_code == 200
    assert f'data-item="{item_id}"' in queue.text
    r = app_client.post(
        f"/console/moderation/items/{item_id}/decision",
        data={"decision": decision, "note": "checked", "csrf": csrf},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200
    assert f'data-item="{item_id}"' in r.text  # the swapped row
    assert platform.assets.get(asset_id)["status"] == status
    entries = platform.audit.query(subject_type="asset", subject_id=asset_id).entries
    assert any(e.actor == f"key:{created.key_id}" for e in entries)
    again = app_client.post(
        f"/console/moderation/items/{item_id}/decision",
        data={"decision": "escalate", "csrf": csrf},
        follow_redirects=False,
    )
    assert again.status_code == 303  # decided already: back to the queue with the reason
    assert platform.assets.get(asset_id)["status"] == status


def test_a_page_polling_itself_does_not_keep_the_session_alive(
    app_client: TestClient, platform: Platform, clock: Clock
) -> None:
    sign_in(app_client, platform.keys.create(["read"]).token)
    idle = platform.settings.security.console_idle_timeout_s
    poll = {"HX-Request": "true", "X-Console-Poll": "1"}
    clock.now += idle - 1
    assert app_client.get("/console/jobs/table", headers=poll).status_code == 200
    clock.now += 2  # the poll did not renew it
    r = app_client.get("/console/", follow_redirects=False)
    assert r.status_code == 303
