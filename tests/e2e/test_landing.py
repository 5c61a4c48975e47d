"""The landing page: status, serving models and the active catalog as self-contained
HTML; what the public page and media route must never show."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from agora.api.app import create_app
from agora.api.factory import app_from_env
from agora.demo.catalog import build_demo_catalog
from agora.demo.loader import demo_asset_id, load_demo_catalog
from agora.mlops.registry import ModelRegistry
from agora.runtime import Platform
from agora.storage.tables import AssetRow


@pytest.fixture
def loaded(platform: Platform) -> Platform:
    catalog = build_demo_catalog(users=5)
    # A handful of sprites and one 3D model keep the test fast.
    small = type(catalog)(catalog.sellers, catalog.users, catalog.assets[:5] + catalog.assets[-1:])
    load_demo_catalog(platform.db, platform.assets, platform.people, small)
    return platform


def loaded_model() -> Any:
    """The 3D model of the fixture (no image: a card without a thumbnail)."""
    return build_demo_catalog(users=5).assets[-1]


def _activate(platform: Platform, ids: list[str]) -> None:
    with platform.db.session() as s:
        s.execute(update(AssetRow).where(AssetRow.id.in_(ids)).values(status="active"))


def test_landing_shows_status_and_only_active_assets(client: TestClient, loaded: Platform) -> None:
    sprites = build_demo_catalog(users=5).assets[:5]
    pending = client.get("/")
    assert pending.status_code == 200
    assert pending.headers["content-type"].startswith("text/html")
    # Uploads not yet cleared by moderation are counted, never pictured or named.
    assert "<td>pending</td><td>6</td>" in pending.text
    assert not any(a.metadata["title"] in pending.text for a in sprites)
    assert "/media/" not in pending.text
    sha = loaded.assets.get(demo_asset_id(sprites[0]))["images"][0]["sha256"]
    assert client.get(f"/media/{sha}").status_code == 404

    _activate(loaded, [demo_asset_id(a) for a in sprites[1:]] + [demo_asset_id(loaded_model())])
    html = client.get("/").text
    assert all(a.metadata["title"] in html for a in sprites[1:])
    assert sprites[0].metadata["title"] not in html  # still pending
    assert "Road Straight Lightposts" in html  # the model, shown without a thumbnail
    assert "sqlite" in html and 'href="/docs"' in html
    assert "http://" not in html.replace("http://www.w3", "")  # nothing loaded from outside
    thumbs = re.findall(r'<img src="(/media/[0-9a-f]{64})"', html)
    assert len(thumbs) == 4 and f"/media/{sha}" not in thumbs
    image = client.get(thumbs[0])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")


def test_landing_names_the_models_that_serve(client: TestClient, platform: Platform) -> None:
    assert "no trained model serves yet" in client.get("/").text
    registry = ModelRegistry(platform.models, platform.db)
    first = platform.models.save("reco-landing", {"weights": [1.0]})
    second = platform.models.save("reco-landing", {"weights": [2.0]})
    registry.promote("reco-landing", first.version, actor="test", reason="first")
    registry.challenge("reco-landing", second.version, actor="test", reason="gate passed")
    html = client.get("/").text
    assert "Models serving" in html and "no trained model serves yet" not in html
    assert re.search(r"<td>reco-landing</td><td>1</td><td>[^<]*<span[^>]*>champion", html)
    assert re.search(r"<td>reco-landing</td><td>2</td><td>[^<]*<span[^>]*>challenger", html)


def test_media_serves_only_catalog_images(client: TestClient, loaded: Platform) -> None:
    _activate(loaded, [demo_asset_id(a) for a in build_demo_catalog(users=5).assets])
    stray = loaded.blobs.put(b"\x89PNG not in any asset", name="x.png", media_type="image/png")
    assert client.get(f"/media/{stray.sha256}").status_code == 404
    assert client.get("/media/not-a-hash").status_code == 404
    model = loaded.assets.get(demo_asset_id(build_demo_catalog(users=5).assets[-1]))
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
        assert r.status_code == 200 and "agora demo" in r.text and "No active assets" in r.text
    finally:
        platform.close()
