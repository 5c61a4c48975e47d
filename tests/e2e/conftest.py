"""API fixtures: an embedded platform in a temp dir, a client, keys per scope;
and the browser harness: a served demo, Chromium, an offline page."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from agora.api.app import create_app
from agora.config import Settings
from agora.runtime import Platform
from agora.testing.browser import assert_accessible as check_accessible
from agora.testing.browser import launch_chromium, offline_context
from agora.testing.browser import screenshot as take_screenshot
from agora.testing.served import ServedDemo, served_demo

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    settings = Settings.load(data_dir=tmp_path / "agora")
    p = Platform.build(settings)
    yield p
    p.close()


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    # Workers are driven explicitly with ``drain_pipeline`` so tests are deterministic.
    with TestClient(create_app(platform, start_background=False)) as c:
        yield c


@pytest.fixture
def tokens(platform: Platform) -> dict[str, str]:
    return {
        scope: platform.keys.create([scope]).token
        for scope in ("read", "write", "moderator", "admin")
    }


# --- The browser harness: a real `agora serve` on the demo, driven by Chromium. ---
#
# Tests that take `demo_server` (or `page`) share one server for the whole run (session scope);
# they are put in one xdist group below, so `make test` (-n 2 --dist loadgroup)
# starts it once. A test takes `page` (a tab on that server, offline), signs in
# with `sign_in(page, demo_server.tokens["admin"])` (agora.testing.browser) and calls
# the `screenshot` and `assert_accessible` fixtures.

E2E = Path(__file__).resolve().parent
ARTIFACTS = E2E / "artifacts"
AXE_SOURCE = E2E / "vendor" / "axe-core" / "axe.min.js"
SERVED_GROUP = "served-demo"


# The first test to ask for the server pays for `agora demo` in its setup: over
# three minutes on a busy 2-core machine, more than the default 300 s timeout
# leaves beside the test itself.
SERVED_TIMEOUT_S = 1800


def pytest_itemcollected(item: pytest.Item) -> None:
    """Browser tests share one worker (one server, one Chromium) and a timeout
    that covers the demo load, without each module having to say so. Marked as
    each test is collected: xdist reads the groups in its own
    ``pytest_collection_modifyitems``, which may run before a conftest's."""
    if {"demo_server", "browser"} & set(getattr(item, "fixturenames", ())):
        item.add_marker(pytest.mark.xdist_group(SERVED_GROUP))
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(SERVED_TIMEOUT_S))


def _require_chromium() -> str:
    from agora.testing.browser import chromium_path

    found = chromium_path()
    if found is None:
        if os.environ.get("CI"):
            raise RuntimeError("CI must install Debian's chromium for the browser tests")
        pytest.skip("no Chromium here (apt-get install chromium)")
    return found


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedDemo]:
    """``agora demo`` then ``agora serve`` on a free port, with one key per scope
    (``demo_server.tokens["read" | "write" | "moderator" | "admin"]``)."""
    _require_chromium()  # without a browser the server would serve nobody
    # AGORA_TEST_DEMO_FROM: copy a data folder an earlier `agora demo` made
    # instead of loading the demo again (minutes saved while writing tests).
    copy = os.environ.get("AGORA_TEST_DEMO_FROM")
    workdir = tmp_path_factory.mktemp("demo-server")
    with served_demo(workdir, demo_from=Path(copy) if copy else None) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """The system Chromium, headless, once per test module: Playwright's sync API
    keeps an event loop on this thread while it runs, and a later test on the same
    xdist worker that calls ``asyncio.run`` (the async client) must not find it."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = launch_chromium(pw)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser, demo_server: ServedDemo) -> Iterator[Page]:
    """A fresh tab (own cookies) at 1366x768 whose relative URLs go to the served
    demo; any request off 127.0.0.1 is aborted and fails the test."""
    context, external = offline_context(browser, base_url=demo_server.url)
    try:
        yield context.new_page()
    finally:
        context.close()
    assert external == [], f"the page reached for the network: {external}"


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script (vendored from npm: tests/e2e/vendor/axe-core)."""
    return AXE_SOURCE.read_text(encoding="utf-8")


@pytest.fixture
def screenshot() -> Callable[[Page, str], list[Path]]:
    """``screenshot(page, name)``: tests/e2e/artifacts/<name>-<w>x<h>.png at
    1366x768 and 768x1024 (the whole page)."""
    return lambda page, name: take_screenshot(page, name, into=ARTIFACTS)


@pytest.fixture
def assert_accessible(axe_source: str) -> Callable[[Page], None]:
    """``assert_accessible(page)``: no serious or critical axe-core violation."""
    return lambda page: check_accessible(page, axe_source)
