"""Headless Chromium for browser tests: the Debian ``chromium`` driven by
Playwright (no browser download), with every request off the loopback
interface blocked and recorded, so a test proves a page works offline.

Example:
    >>> with offline_page() as (page, external):  # doctest: +SKIP
    ...     page.goto(f"{url}/docs")
    ...     assert external == []
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

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


@contextmanager
def offline_page(*, width: int = 1366, height: int = 768) -> Iterator[tuple[Any, list[str]]]:
    """A Playwright page whose requests to anything but the loopback interface are
    aborted; yields ``(page, external)`` where ``external`` lists what was refused."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise RuntimeError("no Chromium found (Debian: apt-get install chromium)")
    external: list[str] = []

    def route(r: Any) -> None:
        if urlsplit(r.request.url).hostname in LOCAL_HOSTS or r.request.url.startswith("data:"):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            context.route("**/*", route)
            yield context.new_page(), external
        finally:
            browser.close()
