"""The operator console in a real browser (issue 22): Chromium against a real
``agora serve`` on the demo, with every request off 127.0.0.1 aborted.

Every page at 1366x768 and 768x1024 with a screenshot and no serious or
critical axe-core violation; then what an operator does: search in each mode
(an image upload too), confirm a tag, reject a moderation item and see its
asset's status change, start a canary of a trained version, promote it and
roll it back through the confirmation step, cancel a job; and a read-only key
sees no moderation page and cannot post a decision; the drift page charts the
stored PSI and KS per feature over the scheduled checks, and an alert raised by
``alert_check`` is acknowledged (audited with the key). One demo server serves the
whole module (conftest puts these tests in its xdist group); every wait is on
a condition (Playwright's auto-waiting ``expect``), none on a clock.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from PIL import Image

from agora.tagging.writeback import tag_text
from agora.testing.browser import SIZES, WAIT_MS, offline_context, sign_in
from agora.testing.served import ServedDemo
from agora.testing.wait import wait_until

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = pytest.mark.slow

Screenshot = Callable[["Page", str], list[Path]]
Accessible = Callable[["Page"], None]
# Training a model on the demo's traffic beside a busy server on a loaded machine.
TRAIN_DEADLINE_S = 600.0
# Every page of the console; "asset" and "model" get a real id at run time.
PAGES = {
    "overview": "/console/",
    "catalog": "/console/catalog",
    "asset": "/console/assets/{asset}",
    "search": "/console/search?q=bee",
    "search-empty": "/console/search",
    "recommendations": "/console/recommendations?user_id=u-7",
    "recommendations-empty": "/console/recommendations",
    "moderation": "/console/moderation",
    "tags": "/console/tags",
    "models": "/console/models",
    "model": "/console/models/{model}",
    "drift": "/console/drift",
    "alerts": "/console/alerts",
    "jobs": "/console/jobs",
    "audit": "/console/audit",
    "webhooks": "/console/webhooks",
    "keys": "/console/keys",
}


def _expect() -> Any:
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    return expect


@dataclass
class Session:
    """A signed-in tab and the off-host requests its context refused."""

    page: Page
    external: list[str]


@contextmanager
def _signed_in(browser: Browser, served: ServedDemo, scope: str) -> Iterator[Session]:
    context, external = offline_context(browser, base_url=served.url)
    try:
        page = context.new_page()
        sign_in(page, served.tokens[scope])
        yield Session(page, external)
    finally:
        context.close()
    assert external == [], f"the console reached for the network: {external}"


@pytest.fixture(scope="module")
def admin(browser: Browser, demo_server: ServedDemo) -> Iterator[Session]:
    """One admin tab for the whole module (signing in once)."""
    with _signed_in(browser, demo_server, "admin") as session:
        yield session


@pytest.fixture(scope="module")
def api(demo_server: ServedDemo) -> Iterator[httpx.Client]:
    """The served API as the demo's admin, to set up and check what the console did."""
    with httpx.Client(
        base_url=demo_server.url, headers=demo_server.headers("admin"), timeout=120
    ) as client:
        yield client


@pytest.fixture(scope="module")
def ids(admin: Session) -> dict[str, str]:
    """An asset with a picture and a model, found the way an operator finds them."""
    page = admin.page
    page.goto("/console/catalog")
    tile = page.locator("li.tile", has=page.locator(".thumb img")).first
    asset = tile.locator("a").first.get_attribute("href") or ""
    page.goto("/console/models")
    model = page.locator("main table a").first.get_attribute("href") or ""
    return {"asset": asset.rsplit("/", 1)[-1], "model": model.rsplit("/", 1)[-1]}


def _fits_the_width(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def _csrf(page: Page) -> str:
    return str(page.locator("body").get_attribute("data-csrf"))


def test_the_sign_in_page(
    page: Page, demo_server: ServedDemo, screenshot: Screenshot, assert_accessible: Accessible
) -> None:
    page.goto("/console/")
    page.locator("input[name=api_key]").wait_for()
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        assert_accessible(page)
        assert _fits_the_width(page)
    screenshot(page, "console-signin")


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_at_both_sizes(
    admin: Session,
    ids: dict[str, str],
    name: str,
    screenshot: Screenshot,
    assert_accessible: Accessible,
) -> None:
    page = admin.page
    answer = page.goto(PAGES[name].format(**ids))
    assert answer is not None and answer.status == 200, f"{name}: {answer and answer.status}"
    _expect()(page.locator("main h1")).to_be_visible()
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        assert_accessible(page)
        assert _fits_the_width(page), f"{name} scrolls sideways at {width}x{height}"
    screenshot(page, f"console-{name}")
    page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
    assert admin.external == []


def test_search_in_every_mode_and_by_image(admin: Session, ids: dict[str, str]) -> None:
    expect, page = _expect(), admin.page
    page.goto("/console/search")
    page.get_by_label("Query").fill("bee")
    page.get_by_role("button", name="Search every mode").click()
    for mode in ("keyword", "semantic", "hybrid", "visual"):
        column = page.locator("section.card", has=page.get_by_role("heading", name=mode))
        expect(column.locator("ol.hits li").first).to_be_visible()
        expect(column.locator("ol.hits li").first).to_contain_text("score")
    # By image: the asset's own picture, fetched with the session, finds that asset.
    picture = page.request.get(f"/console/assets/{ids['asset']}/images/0")
    assert picture.ok, picture.status
    png = io.BytesIO()
    Image.open(io.BytesIO(picture.body())).convert("RGBA").convert("RGB").save(png, format="PNG")
    page.locator("input[type=file][name=image]").set_input_files(
        {"name": "query.png", "mimeType": "image/png", "buffer": png.getvalue()}
    )
    page.get_by_role("button", name="Search by image").click()
    column = page.locator("section.card", has_text="visual (uploaded image)")
    hits = column.locator("ol.hits li a")
    expect(hits.first).to_be_visible()
    expect(page.get_by_text("Results for the uploaded image")).to_contain_text("query.png")
    found = [h.split("/")[-1] for h in hits.evaluate_all("as => as.map(a => a.href)")]
    assert ids["asset"] in found[:3], found
    assert admin.external == []


def _new_suggestion(page: Page, api: httpx.Client) -> tuple[Locator, str, str, list[str]]:
    """The first suggested tag its asset does not carry yet (so confirming it shows):
    its checkbox, the asset, the label and the asset's tags now."""
    for box in page.locator("input[type=checkbox][name=tag]").all():
        asset_id, _, label = str(box.get_attribute("value")).split("|")
        tags = api.get(f"/api/v1/assets/{asset_id}").json()["tags"] or []
        if tag_text(label) not in tags:
            return box, asset_id, label, tags
    raise AssertionError("every suggested tag on the first page is confirmed already")


def test_a_tag_is_confirmed_in_tag_review(admin: Session, api: httpx.Client) -> None:
    expect, page = _expect(), admin.page
    page.goto("/console/tags")
    box, asset_id, label, before = _new_suggestion(page, api)
    box.check()
    page.get_by_role("button", name="Confirm selected").click()
    expect(page.locator("p.flash")).to_contain_text("confirmed 1 tag(s)")
    # A confirmed suggestion joins the asset's own tags (the label, "_" written as " ").
    text = tag_text(label)
    legend = page.locator("legend", has=page.locator(f"a[href='/console/assets/{asset_id}']"))
    expect(legend.first).to_contain_text(text)
    after = api.get(f"/api/v1/assets/{asset_id}").json()["tags"]
    assert text in after and set(before) <= set(after), (text, before, after)
    assert admin.external == []


def test_a_moderation_decision_changes_the_assets_status(admin: Session, api: httpx.Client) -> None:
    expect, page = _expect(), admin.page
    page.goto("/console/moderation")
    row = page.locator("tr[data-item]").first
    item_id = str(row.get_attribute("data-item"))
    asset_id = row.locator("a").first.inner_text().strip()
    page.goto(f"/console/assets/{asset_id}")
    before = page.locator("main h1 .st").inner_text()
    page.goto("/console/moderation")
    row = page.locator(f"tr[data-item='{item_id}']")
    # The keyboard shortcut: the first row is selected, "r" rejects it (htmx swaps the row).
    expect(row).to_have_class("selected")
    page.keyboard.press("r")
    expect(row.locator(".st")).to_have_text("rejected")
    expect(row).to_contain_text("reject by")
    assert api.get(f"/api/v1/moderation/items/{item_id}").json()["state"] == "rejected"
    page.goto(f"/console/assets/{asset_id}")
    status = page.locator("main h1 .st")
    expect(status).not_to_have_text(before)
    assert status.inner_text() == api.get(f"/api/v1/assets/{asset_id}").json()["status"]
    assert admin.external == []


def test_an_override_is_created_and_lifted(admin: Session, api: httpx.Client) -> None:
    expect, page = _expect(), admin.page
    page.goto("/console/moderation")
    seller = page.locator("tr[data-item] .small.muted").first.inner_text().split(" · ")[0]
    form = page.get_by_role("form", name="Create an override")
    form.get_by_label("Action").select_option("boost")
    form.get_by_label("Target").select_option("seller")
    form.get_by_label("Value").fill(seller)
    form.get_by_label("Expires in (hours)").fill("1")
    form.get_by_label("Reason").fill("e2e boost")
    form.get_by_role("button", name="Create override").click()
    expect(page.locator("p.flash")).to_contain_text(f"boost seller {seller} in force")
    row = page.locator("section tbody tr", has_text="e2e boost")
    expect(row).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())  # the data-confirm step
    row.get_by_role("button", name="Lift").click()
    expect(page.locator("p.flash")).to_contain_text("lifted")
    expect(page.locator("section tbody tr", has_text="e2e boost")).to_have_count(0)
    assert all(o["reason"] != "e2e boost" for o in api.get("/api/v1/overrides").json()["overrides"])
    assert admin.external == []


def _trained_model(api: httpx.Client) -> tuple[str, str, str]:
    """A model with a version beside its champion: (name, champion, other).
    The demo trains each model once; when none has two versions, train the
    click-through-rate model through the pipelines API (the CLI's ``--queue``)."""

    def pick() -> tuple[str, str, str] | None:
        for m in api.get("/api/v1/models").json()["models"]:
            champion = m["aliases"].get("champion")
            others = [v["version"] for v in m["versions"] if v["version"] != champion]
            if champion and others:
                return m["name"], champion, others[-1]
        return None

    found = pick()
    if found is None:
        task = api.post("/api/v1/pipelines/train.ctr", json={"priority": 9})
        assert task.status_code == 202, task.text
        url = f"/api/v1/pipelines/{task.json()['task_id']}"
        wait_until(
            lambda: api.get(url).json()["status"] in {"succeeded", "failed", "cancelled"},
            timeout_s=TRAIN_DEADLINE_S,
            what="train.ctr to end",
            interval_s=1.0,
        )
        assert api.get(url).json()["status"] == "succeeded", api.get(url).text
        found = pick()
    assert found is not None, api.get("/api/v1/models").text
    return found


def _act(page: Page, form: str, action: str, version: str | None = None) -> None:
    """Submit one of the model page's action forms, then its confirmation step."""
    expect = _expect()
    box = page.get_by_role("form", name=form)
    if version is not None:
        box.get_by_label("Version").select_option(version)
    box.get_by_label("Reason").fill(f"e2e {action}")
    box.get_by_role("button").click()
    expect(page.locator("main h1")).to_have_text(f"Confirm: {action} " + page.url.split("/")[-2])
    page.get_by_role("button", name=f"Yes, {action}").click()
    expect(page.locator("p.flash")).to_contain_text("Done:")


def test_a_challenger_is_promoted_and_rolled_back(admin: Session, api: httpx.Client) -> None:
    expect, page = _expect(), admin.page
    name, champion, other = _trained_model(api)
    page.goto(f"/console/models/{name}")
    serving = page.locator("section", has=page.get_by_role("heading", name="Serving"))
    challenger = api.get(f"/api/v1/models/{name}/deployment").json()["challenger"]
    if challenger is None:
        _act(page, "Start a canary", "challenge", other)
        challenger = other
    expect(serving.locator("dd").nth(1)).to_have_text(challenger)
    _act(page, "Promote", "promote")
    expect(serving.locator("dd").first).to_have_text(challenger)
    assert api.get(f"/api/v1/models/{name}/deployment").json()["champion"] == challenger
    _act(page, "Roll back", "rollback")
    expect(serving.locator("dd").first).to_have_text(champion)
    assert api.get(f"/api/v1/models/{name}/deployment").json()["champion"] == champion
    history = page.locator("section", has=page.get_by_role("heading", name="Promotion history"))
    expect(history.locator("tbody tr").first).to_contain_text("e2e rollback")
    assert admin.external == []


def _run_task(api: httpx.Client, name: str, params: dict[str, Any] | None = None) -> str:
    """Submit a task through the pipelines API and wait for it to end; its status."""
    task = api.post(f"/api/v1/pipelines/{name}", json={"priority": 9, "params": params or {}})
    assert task.status_code == 202, task.text
    url = f"/api/v1/pipelines/{task.json()['task_id']}"
    wait_until(
        lambda: api.get(url).json()["status"] in {"succeeded", "failed", "cancelled"},
        timeout_s=TRAIN_DEADLINE_S,
        what=f"{name} to end",
        interval_s=0.5,
    )
    return str(api.get(url).json()["status"])


def test_the_drift_page_charts_psi_and_ks_per_feature_over_time(
    admin: Session, api: httpx.Client, screenshot: Screenshot, assert_accessible: Accessible
) -> None:
    expect, page = _expect(), admin.page
    # Ranked feeds now: the champion's served inputs fall in the drift window.
    for i in range(12):
        r = api.get(f"/api/v1/feed/u-{i}", params={"n": 10})
        assert r.status_code == 200, r.text
    for _ in range(2):  # two scheduled checks: a line, not a dot
        assert _run_task(api, "drift_check") == "succeeded"
    history = api.get("/api/v1/models/ranking-pctr/drift/history").json()
    assert len(history["checks"]) >= 2, history
    features = {f["name"] for f in history["checks"][-1]["features"]}
    page.goto("/console/drift?model=ranking-pctr")
    for chart in ("psi-time", "ks-time"):
        box = page.locator(f"div.chart[data-series='{chart}']")
        expect(box.locator("canvas").first).to_be_visible()
        # uPlot's legend names every feature of the stored checks.
        legend = box.locator(".u-legend .u-series .u-label").all_inner_texts()
        assert features <= set(legend), (chart, features, legend)
    reports = page.locator("section", has=page.get_by_role("heading", name="Last reports"))
    expect(reports.locator("tbody tr")).to_have_count(min(len(history["checks"]), 10))
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        assert_accessible(page)
        assert _fits_the_width(page)
    screenshot(page, "console-drift-history")
    page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
    assert admin.external == []


def test_an_alert_is_acknowledged_on_the_alerts_page(
    admin: Session, api: httpx.Client, screenshot: Screenshot, assert_accessible: Accessible
) -> None:
    expect, page = _expect(), admin.page
    # A task run that fails (a parameter it does not take), then the check that alerts on it.
    assert _run_task(api, "train.classifier", {"no_such_parameter": 1}) == "failed"
    assert _run_task(api, "alert_check") == "succeeded"
    found = api.get("/api/v1/alerts", params={"kind": "job_failed", "subject": "train.classifier"})
    alert = found.json()["items"][0]
    assert not alert["acknowledged"], alert
    page.goto("/console/alerts?kind=job_failed")
    row = page.locator(f"tr#alert-{alert['id']}")
    expect(row).to_contain_text("train.classifier")
    assert_accessible(page)
    form = row.get_by_role("form", name=f"Acknowledge alert {alert['id']}")
    form.get_by_label("Note").fill("e2e: looking into it")
    form.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("p.flash")).to_contain_text(f"Alert {alert['id']}")
    row = page.locator(f"tr#alert-{alert['id']}")
    expect(row).to_contain_text("e2e: looking into it")
    expect(row.get_by_role("button", name="Acknowledge")).to_have_count(0)
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        assert_accessible(page)
        assert _fits_the_width(page)
    screenshot(page, "console-alerts-acknowledged")
    page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
    stored = api.get(f"/api/v1/alerts/{alert['id']}").json()
    assert stored["acknowledged"] and stored["ack_note"] == "e2e: looking into it"
    audited = api.get(
        "/api/v1/audit", params={"action": "alert.acknowledged", "subject_id": str(alert["id"])}
    ).json()["entries"]
    assert [e["actor"] for e in audited] == [stored["acked_by"]]
    # The overview lists it among the latest alerts.
    page.goto("/console/")
    latest = page.locator("section", has=page.get_by_role("heading", name="Latest alerts"))
    expect(latest).to_contain_text("job_failed")
    assert admin.external == []


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


def test_a_job_is_cancelled_on_the_jobs_page(admin: Session, demo_server: ServedDemo) -> None:
    expect, page = _expect(), admin.page
    # A deferred import that is never completed: a job that waits until cancelled.
    opened = httpx.post(
        f"{demo_server.url}/api/v1/imports/e2e-cancel/images",
        params={"defer": "true"},
        files={"images": ("red.png", _png(), "image/png")},
        headers=demo_server.headers("write"),
        timeout=120,
    )
    assert opened.status_code == 202, opened.text
    job = opened.json()["job_id"]
    page.goto("/console/jobs")
    form = page.locator(f"form[action='/console/jobs/{job}/cancel']")
    page.once("dialog", lambda dialog: dialog.accept())  # the data-confirm step
    form.get_by_role("button", name="Cancel").click()
    expect(page.locator("p.flash")).to_contain_text(f"job {job} cancelled")
    expect(page.locator(f"form[action='/console/jobs/{job}/cancel']")).to_have_count(0)
    state = httpx.get(
        f"{demo_server.url}/api/v1/jobs/{job}", headers=demo_server.headers("read"), timeout=60
    )
    assert state.json()["status"] == "cancelled", state.text
    assert admin.external == []


def test_a_read_only_key_sees_no_moderation(
    browser: Browser, demo_server: ServedDemo, api: httpx.Client
) -> None:
    expect = _expect()
    queue = api.get("/api/v1/moderation/queue", params={"limit": 1}).json()["items"]
    with _signed_in(browser, demo_server, "read") as reader:
        page = reader.page
        nav = page.get_by_role("navigation", name="Console pages")
        expect(nav.get_by_role("link", name="Catalog")).to_be_visible()
        expect(nav.get_by_role("link", name="Moderation queue")).to_have_count(0)
        answer = page.goto("/console/moderation")
        assert answer is not None and answer.status == 403
        expect(page.locator("button[name=decision]")).to_have_count(0)
        if queue:  # a decision posted with the session's own token is refused too
            item = queue[0]["id"]
            page.goto("/console/")
            refused = page.request.post(
                f"/console/moderation/items/{item}/decision",
                form={"decision": "approve", "csrf": _csrf(page)},
            )
            assert refused.status == 403
            assert api.get(f"/api/v1/moderation/items/{item}").json()["state"] == queue[0]["state"]


def test_a_form_without_its_csrf_token_is_refused(admin: Session, api: httpx.Client) -> None:
    page = admin.page
    page.goto("/console/jobs")
    refused = page.request.post("/console/pipelines/run", form={"name": "alert_check"})
    assert refused.status == 403
    assert "Form refused" in refused.text()
