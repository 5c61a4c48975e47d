"""Headless Chromium for browser tests: the Debian ``chromium`` driven by
Playwright (no browser download), with every request off the loopback
interface blocked and recorded, so a test proves a page works offline.

Beside the one-off ``offline_page`` it holds the pieces of the console's
end-to-end harness (tests/e2e/conftest.py): a context bound to a server's
base URL, ``sign_in`` with an API key, ``screenshot`` at the sizes the console
must work at, and ``assert_accessible`` with axe-core.

Example:
    >>> with offline_page() as (page, external):  # doctest: +SKIP
    ...     page.goto(f"{url}/docs")
    ...     assert external == []
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Flags for a root user in a container on a machine with no network: no
# sandbox, no GPU, and none of the background connections Chromium makes.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
# Where the console must be usable (issue 22): a laptop and a tablet in portrait.
SIZES: tuple[tuple[int, int], ...] = ((1366, 768), (768, 1024))
# axe-core impacts that fail a page; "minor" and "moderate" are reported by axe
# but left to review.
FAILING_IMPACTS = frozenset({"serious", "critical"})
# A page on a loaded 2-core machine beside a busy server: generous, and only
# ever reached when something is wrong (every wait is on a condition).
WAIT_MS = 60_000


def chromium_path() -> str | None:
    """The system Chromium (``AGORA_TEST_CHROMIUM`` first), or None."""
    explicit = os.environ.get("AGORA_TEST_CHROMIUM")
    if explicit:
        return explicit
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def launch_chromium(pw: Playwright) -> Browser:
    """Start the system Chromium headless through Playwright (never a download)."""
    executable = chromium_path()
    if executable is None:
        raise RuntimeError("no Chromium found (Debian: apt-get install chromium)")
    return pw.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))


def offline_context(
    browser: Browser,
    *,
    base_url: str | None = None,
    width: int = SIZES[0][0],
    height: int = SIZES[0][1],
) -> tuple[BrowserContext, list[str]]:
    """A new context whose requests to anything but the loopback interface are
    aborted; returns it with the list the refused URLs are appended to.

    ``bypass_csp`` lets axe-core be injected into pages whose Content Security
    Policy allows only their own scripts; it changes nothing the page loads."""
    external: list[str] = []

    def route(r: Route) -> None:
        url = r.request.url
        if urlsplit(url).hostname in LOCAL_HOSTS or url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            external.append(url)
            r.abort()

    kwargs: dict[str, Any] = {"viewport": {"width": width, "height": height}}
    if base_url is not None:
        kwargs["base_url"] = base_url
    context = browser.new_context(bypass_csp=True, **kwargs)
    context.set_default_timeout(WAIT_MS)
    context.route("**/*", route)
    return context, external


@contextmanager
def offline_page(*, width: int = 1366, height: int = 768) -> Iterator[tuple[Any, list[str]]]:
    """A Playwright page whose requests to anything but the loopback interface are
    aborted; yields ``(page, external)`` where ``external`` lists what was refused."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            context, external = offline_context(browser, width=width, height=height)
            yield context.new_page(), external
        finally:
            browser.close()


def sign_in(page: Page, token: str, *, path: str = "/console/") -> None:
    """Sign in to the console with an API key: open ``path``, fill the form's
    ``api_key`` input, submit it, and wait until the form is gone.

    Raises ``AssertionError`` at once when the form's POST answers 4xx or 5xx
    (a refused key), or when the form is still there after ``WAIT_MS``."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(path)
    field = page.locator("input[name=api_key]")
    field.fill(token)
    # Whatever submits it (a plain form or htmx), the POST's answer says yes or no.
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        field.press("Enter")
    status = answer.value.status
    assert status < 400, f"sign-in answered {status}: {answer.value.text()[:500]}"
    try:
        page.locator("input[name=api_key]").wait_for(state="detached")
    except PlaywrightTimeout:
        raise AssertionError(f"still on the sign-in form at {page.url}") from None


def screenshot(
    page: Page, name: str, *, into: Path, sizes: Sequence[tuple[int, int]] = SIZES
) -> list[Path]:
    """Write ``<into>/<name>-<w>x<h>.png`` (the whole page) at each viewport size,
    then restore the page's own size; returns the files."""
    original = page.viewport_size
    into.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        for width, height in sizes:
            page.set_viewport_size({"width": width, "height": height})
            path = into / f"{name}-{width}x{height}.png"
            page.screenshot(path=str(path), full_page=True)
            written.append(path)
    finally:
        if original is not None:
            page.set_viewport_size(original)
    return written


def axe_violations(
    page: Page, axe_source: str, *, impacts: frozenset[str] = FAILING_IMPACTS
) -> list[dict[str, Any]]:
    """Run axe-core (its script's text) on the page as it is now; the violations
    whose impact is in ``impacts``."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source)
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [v for v in result["violations"] if v.get("impact") in impacts]


def assert_accessible(
    page: Page, axe_source: str, *, impacts: frozenset[str] = FAILING_IMPACTS
) -> None:
    """Fail with a readable list when axe-core finds violations of ``impacts``
    (serious or critical by default) on the page."""
    found = axe_violations(page, axe_source, impacts=impacts)
    assert not found, f"accessibility violations on {page.url}:\n" + describe_violations(found)


def describe_violations(violations: Sequence[dict[str, Any]], *, nodes: int = 5) -> str:
    """One paragraph per violation: rule, impact, help URL, the first ``nodes``
    elements (their selector and axe's summary of the fix)."""
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"][:nodes]:
            summary = " ".join(str(node.get("failureSummary", "")).split())
            lines.append(f"    {node['target']}: {summary[:300]}")
        if len(v["nodes"]) > nodes:
            lines.append(f"    ... and {len(v['nodes']) - nodes} more")
    return "\n".join(lines)
