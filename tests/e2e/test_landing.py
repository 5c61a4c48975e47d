"""The landing page: status and catalog grid as self-contained HTML; media route limits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agora.api.app import create_app
from agora.api.factory import app_from_env
from agora.catalog import AssetService
from agora.demo.catalog import build_demo_catalog
from agora.demo.loader import demo_asset_id, load_demo_catalog
from agora.runtime import Platform


@pytest.fixture
def loaded(platform: Platform) -> Platform:
    catalog = build_demo_catalog(users=5)
    # A handful of sprites and one 3D model keep the test fast.
    small = type(catalog)(catalog.sellers, catalog.users, catalog.assets[:5] + catalog.assets[-1:])
    load_demo_catalog(platform, small)
    return platform


def test_landing_shows_status_and_catalog(client: TestClient, loaded: Platform) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    for asset in build_demo_catalog(users=5).assets[:5]:
        assert asset.metadata["title"] in html
    assert "Road Straight Lightposts" in html  # the model, shown without a thumbnail
    assert "pending" in html and "sqlite" in html and 'href="/docs"' in html
    assert "http://" not in html.replace("http://www.w3", "")  # nothing loaded from outside
    thumbs = re.findall(r'<img src="(/media/[0-9a-f]{64})"', html)
    assert len(thumbs) == 5
    image = client.get(thumbs[0])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")


def test_media_serves_only_catalog_images(client: TestClient, loaded: Platform) -> None:
    stray = loaded.blobs.put(b"\x89PNG not in any asset", name="x.png", media_type="image/png")
    assert client.get(f"/media/{stray.sha256}").status_code == 404
    assert client.get("/media/not-a-hash").status_code == 404
    model = AssetService(loaded).get(demo_asset_id(build_demo_catalog(users=5).assets[-1]))
    glb = model["files"][0]
    assert client.get(f"/media/{glb['sha256']}").status_code == 404  # a file, not an image


def test_landing_can_be_turned_off(platform: Platform) -> None:
    platform.settings.security.public_landing_page = False
    with TestClient(create_app(platform, start_background=False)) as c:
        r = c.get("/")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


def test_landing_on_empty_catalog_and_app_factory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGORA_DATA_DIR", str(tmp_path / "env-data"))
    monkeypatch.setenv("AGORA_SERVER__RUN_WORKERS_IN_PROCESS", "false")
    app = app_from_env()
    platform: Platform = app.state.platform
    try:
        assert platform.settings.data_dir == tmp_path / "env-data"
        with TestClient(app) as c:
            r = c.get("/")
        assert r.status_code == 200 and "agora demo" in r.text
    finally:
        platform.close()
