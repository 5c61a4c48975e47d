"""Every console page renders for an admin key on a real embedded platform, and
nothing a page or the console's static files reference leaves the server (the
console works offline; its CSP allows only this origin)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient

from agora.api.app import create_app
from agora.catalog.listing import AssetFilter
from agora.config import Settings
from agora.console.render import HERE
from agora.mlops.alert_store import Condition
from agora.mlops.drift import DriftReference
from agora.runtime import Platform
from agora.storage.tables import SellerRow
from agora.testing.api import drain_pipeline
from agora.testing.console import CSRF, sign_in

# Every page of the console (the benchmark renders the same list on the demo data).
PAGES = {
    "overview": "/console/",
    "catalog": "/console/catalog",
    "catalog_filtered": "/console/catalog?status=flagged&seller_id=s1",
    "search": "/console/search?q=tank",
    "search_empty": "/console/search",
    "recommendations": "/console/recommendations?user_id=u-1",
    "recommendations_empty": "/console/recommendations",
    "recommendations_feed": "/console/recommendations/feed?user_id=u-1",
    "moderation": "/console/moderation",
    "moderation_decided": "/console/moderation?state=approved",
    "tags": "/console/tags",
    "models": "/console/models",
    "drift": "/console/drift",
    "alerts": "/console/alerts",
    "alerts_filtered": "/console/alerts?kind=drift&severity=warning&state=open&acked=no",
    "jobs": "/console/jobs",
    "jobs_table": "/console/jobs/table",
    "audit": "/console/audit",
    "audit_verify": "/console/audit/verify",
    "webhooks": "/console/webhooks",
    "keys": "/console/keys",
}
HOUR = timedelta(hours=1)
REFERENCE = re.compile(r'(?:src|href|action|hx-get|hx-post)="([^"]*)"')
EXTERNAL = re.compile(r"^(?:https?:)?//", re.I)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    pipeline = {"disabled_steps": ["index", "tagging"]}
    data = tmp_path_factory.mktemp("console") / "agora"
    p = Platform.build(Settings.load(data_dir=data, pipeline=pipeline))
    with p.db.session() as s:
        s.add(SellerRow(id="s1", name="Forge"))
    for title, text in (("Tank", "whatsapp me on 0812 345 6789"), ("Crate", "A wooden crate.")):
        p.assets.create({"title": title, "description": text, "seller_id": "s1"}, [], [], "t")
    drain_pipeline(p)
    yield p
    p.close()


@pytest.fixture(scope="module")
def admin(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform, start_background=False)) as client:
        sign_in(client, platform.keys.create(["admin"]).token)
        yield client


def _asset_ids(platform: Platform) -> list[str]:
    return [a["id"] for a in platform.assets.list(AssetFilter())[0]]


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_page_renders_for_an_admin(admin: TestClient, name: str) -> None:
    r = admin.get(PAGES[name], follow_redirects=False)
    assert r.status_code == 200, r.text[:2000]
    assert r.headers["content-type"].startswith("text/html")
    if not name.endswith(("_table", "_verify", "_feed")):
        assert "default-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["cache-control"] == "no-store"
        assert "<main" in r.text


def test_the_asset_page_and_its_media(admin: TestClient, platform: Platform) -> None:
    for asset_id in _asset_ids(platform):
        r = admin.get(f"/console/assets/{asset_id}")
        assert r.status_code == 200, r.text[:2000]
        assert "Pipeline steps" in r.text
        assert "moderation@" in r.text  # each step with model@version
    missing = admin.get("/console/assets/nope/images/0")
    assert missing.status_code == 404


def test_empty_states_say_what_to_do(admin: TestClient) -> None:
    assert "Type a query" in admin.get("/console/search").text
    assert "Pick a user" in admin.get("/console/recommendations").text
    assert "Subscribe a URL" in admin.get("/console/webhooks").text


def _references(html: str) -> list[str]:
    return [m.group(1) for m in REFERENCE.finditer(html)]


def test_no_page_references_another_host(admin: TestClient, platform: Platform) -> None:
    pages = [*PAGES.values(), *(f"/console/assets/{a}" for a in _asset_ids(platform))]
    local: set[str] = set()
    for path in pages:
        html = admin.get(path).text
        for ref in _references(html):
            assert not EXTERNAL.match(ref), f"{path} references {ref}"
            if ref.startswith("/console/static/"):
                local.add(ref)
    assert "/console/static/vendor/htmx.org/htmx.min.js" in local
    for ref in local:  # every static file a page names is served from here
        assert admin.get(ref).status_code == 200, ref


def test_static_files_load_nothing_from_a_cdn() -> None:
    static = HERE / "static"
    own = [static / "console.css", static / "console.js"]
    for path in own:
        assert not re.search(r"https?://", path.read_text()), path
    # The vendored bundles keep licence links and XML namespaces, but no host to fetch
    # from: vendor.json rewrites <model-viewer>'s decoder locations to local paths.
    for path in (static / "vendor").rglob("*.js"):
        text = path.read_text(encoding="utf-8")
        for host in ("gstatic.com", "jsdelivr.net", "unpkg.com", "googleapis.com"):
            assert host not in text, f"{path.name} still loads from {host}"


def test_the_landing_page_links_to_the_console(admin: TestClient) -> None:
    r = admin.get("/")
    assert 'href="/console/"' in r.text
    assert "/api/v1/assets/" not in r.text  # cards open the console, not JSON
    assert "Tank" not in r.text  # flagged: never pictured on the public page


def _csrf(client: TestClient, path: str) -> str:
    found = CSRF.search(client.get(path).text)
    assert found is not None
    return found.group(1)


def test_model_actions_need_a_confirmation_step(admin: TestClient, platform: Platform) -> None:
    name = platform.models.models()[0]
    before = platform.model_registry.deployment(name)
    csrf = _csrf(admin, f"/console/models/{name}")
    url = f"/console/models/{name}/actions"
    ask = admin.post(url, data={"action": "rollback", "reason": "test", "csrf": csrf})
    assert ask.status_code == 200
    assert "Yes, rollback" in ask.text
    assert platform.model_registry.deployment(name) == before  # nothing happened yet
    done = admin.post(
        url,
        data={"action": "abort", "reason": "test", "csrf": csrf, "confirmed": "yes"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    shown = admin.get(done.headers["location"])
    assert "Refused" in shown.text or "Done" in shown.text  # the outcome is said


def test_a_job_is_cancelled_from_the_jobs_page(admin: TestClient, platform: Platform) -> None:
    job_id = platform.jobs.create("import")
    page = admin.get("/console/jobs")
    assert f"/console/jobs/{job_id}/cancel" in page.text
    assert 'hx-trigger="every 2s"' in page.text  # a job is live: the table polls
    r = admin.post(f"/console/jobs/{job_id}/cancel", data={"csrf": _csrf(admin, "/console/jobs")})
    assert r.status_code == 200
    assert platform.jobs.get(job_id)["status"] == "cancelled"
    actions = [e.action for e in platform.audit.query(subject_type="job").entries]
    assert "job.cancelled" in actions


def test_errors_on_console_pages_are_pages_and_api_errors_stay_problems(
    admin: TestClient,
) -> None:
    page = admin.get("/console/assets/nope", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "nope" in page.text and "not found" in page.text
    api = admin.get("/api/v1/assets/nope", headers={"accept": "text/html"})
    assert api.status_code == 401
    assert api.headers["content-type"] == "application/problem+json"


def test_tags_are_confirmed_in_bulk(admin: TestClient, platform: Platform) -> None:
    document = platform.tagging.taxonomies.current().document
    category, body = next(iter(document["categories"].items()))
    labels = list(body["labels"])[:2]
    asset_id = _asset_ids(platform)[0]
    r = admin.post(
        "/console/tags/feedback",
        data={
            "csrf": _csrf(admin, "/console/tags"),
            "verdict": "confirm",
            "tag": [f"{asset_id}|{category}|{name}" for name in labels],
            "back": "/console/tags",
        },
    )
    assert r.status_code == 200
    assert "confirmed 2 tag(s)" in r.text
    tags = platform.assets.get(asset_id)["tags"]
    assert set(labels) <= set(tags)  # confirmed tags join the asset's own


def test_the_override_form_offers_every_action_and_target(admin: TestClient) -> None:
    html = admin.get("/console/moderation").text
    for option in ("ban", "boost", "asset", "seller", "category"):
        assert f"<option>{option}</option>" in html, option


def test_the_feed_fragment_says_which_filters_removed_candidates(admin: TestClient) -> None:
    html = admin.get(PAGES["recommendations_feed"]).text
    assert "Filtered out" in html, html[:3000]
    # The recall here reaches only listed assets; which filter removes what is
    # tested in tests/unit/test_ranking_pipeline.py.
    assert "status not active" in html or "No filter removed a candidate" in html


def test_an_alert_is_acknowledged_with_csrf_and_the_write_scope(
    admin: TestClient, platform: Platform
) -> None:
    (alert,) = platform.alerts.report(
        "queue_backlog", [Condition("t.console/g", "warning", "1500 waiting", 1500, 1000)]
    ).opened
    url = f"/console/alerts/{alert.id}/ack"
    listed = admin.get("/console/alerts?state=open").text
    assert f'action="{url}"' in listed and "1500 waiting" in listed
    assert "t.console/g" in admin.get("/console/").text  # the overview's latest alerts
    # Without the session's CSRF token: refused, nothing acknowledged.
    refused = admin.post(url, data={"note": "forged"})
    assert refused.status_code == 403 and "Form refused" in refused.text
    assert not platform.alerts.get(alert.id).acknowledged
    # A read-only key sees the alert but may not acknowledge it.
    with TestClient(create_app(platform, start_background=False)) as reader:
        csrf = sign_in(reader, platform.keys.create(["read"]).token)
        assert "1500 waiting" in reader.get("/console/alerts").text
        assert f'action="{url}"' not in reader.get("/console/alerts").text
        assert reader.post(url, data={"csrf": csrf}).status_code == 403
    assert not platform.alerts.get(alert.id).acknowledged
    done = admin.post(
        url,
        data={"csrf": _csrf(admin, "/console/alerts"), "note": "on it", "back": "/alerts?kind=x"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"].startswith("/console/alerts?kind=x&flash=")
    assert "acknowledged by key:" in admin.get(done.headers["location"]).text
    acked = platform.alerts.get(alert.id)
    assert acked.acknowledged and acked.ack_note == "on it"
    entries = platform.audit.query(action="alert.acknowledged", subject_id=str(alert.id)).entries
    assert [e.actor for e in entries] == [acked.acked_by]
    # Only console pages are valid places to go back to.
    elsewhere = admin.post(
        url, data={"csrf": _csrf(admin, "/console/alerts"), "back": "//evil.example/"}
    )
    assert elsewhere.status_code == 422


def test_the_drift_page_charts_the_stored_history(admin: TestClient, platform: Platform) -> None:
    name = platform.models.models()[0]
    rng = np.random.default_rng(3)
    reference = DriftReference.fit(rng.normal(size=(500, 2)), ["price", "score"])
    start = datetime(2026, 12, 1, tzinfo=UTC)
    for i in range(3):
        current = rng.normal(size=(500, 2)) + np.array([0.5 * i, 0.0])
        platform.drift_history.record(name, "1", reference.compare(current), start + i * HOUR)
    html = admin.get(f"/console/drift?model={name}").text
    charts = {
        key: json.loads(re.search(rf'id="{key}">(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]
        for key in ("psi-time", "ks-time")
    }
    checks = platform.drift_history.checks(name)
    assert charts["psi-time"]["labels"] == charts["ks-time"]["labels"] == ["price", "score"]
    assert charts["psi-time"]["data"][0] == [c.measured_at.timestamp() for c in checks]
    assert charts["psi-time"]["data"][1] == [c.features[0].psi for c in checks]
    assert charts["ks-time"]["data"][2] == [c.features[1].ks_statistic for c in checks]
    assert "Last reports" in html and html.count("<tr><td>2026-12-01") == 3
