"""``/docs`` and ``/redoc`` render every operation in a real (headless) Chromium
with every request off the loopback interface refused: the API docs work
offline."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from agora.api.app import create_app
from agora.runtime import Platform
from agora.testing.browser import chromium_path, offline_page
from agora.testing.net import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.process]

if chromium_path() is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI must install Debian's chromium for the browser tests")
    pytest.skip("no Chromium here (apt-get install chromium)", allow_module_level=True)


@pytest.fixture
def url(platform: Platform) -> Iterator[str]:
    with LiveServer(create_app(platform, start_background=False)) as served:
        yield served


def _operations(url: str) -> int:
    import httpx

    doc = httpx.get(f"{url}/openapi.json", timeout=30).json()
    verbs = {"get", "put", "post", "patch", "delete"}
    return sum(1 for item in doc["paths"].values() for verb in item if verb in verbs)


def test_swagger_ui_renders_every_operation_offline(url: str) -> None:
    expected = _operations(url)
    with offline_page() as (page, external):
        page.goto(f"{url}/docs")
        page.wait_for_function(
            f"document.querySelectorAll('.opblock').length >= {expected}", timeout=60_000
        )
        assert page.locator(".opblock").count() == expected
        assert page.locator("button.authorize").count() == 1  # the bearer scheme
        assert external == []


def test_redoc_renders_every_operation_offline(url: str) -> None:
    expected = _operations(url)
    with offline_page() as (page, external):
        page.goto(f"{url}/redoc")
        selector = "[data-section-id^='operation/'], [data-section-id^='tag/'] [id^='operation/']"
        page.wait_for_function(
            f'document.querySelectorAll("{selector}").length >= {expected}', timeout=60_000
        )
        assert external == []
