"""API fixtures: an embedded platform in a temp dir, a client, keys per scope."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agora.api.app import create_app
from agora.config import Settings
from agora.runtime import Platform


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
