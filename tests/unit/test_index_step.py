"""The ``index`` pipeline step, the index consumer and ``agora index rebuild`` (MiniLM profile)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agora.bus.base import Event, Topics
from agora.cli.main import app
from agora.config import Settings
from agora.pipeline.base import StepContext
from agora.pipeline.steps.index import IndexStep
from agora.runtime import Platform
from agora.search.consumer import index_event_handler
from agora.testing.samples import tiny_png


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    p = Platform.build(Settings.load(data_dir=tmp_path / "agora"))
    p.people.upsert_seller("s1", {"name": "Shop"}, "test")
    yield p
    p.close()


def _asset(platform: Platform, title: str) -> dict:
    created = platform.assets.create(
        {"title": title, "description": "Top-down sprite.", "tags": ["2d"], "seller_id": "s1"},
        [],
        [],
        "test",
    )
    return platform.assets.get(created.asset_id)


def test_step_indexes_text_images_and_skips_a_corrupt_image(platform):
    asset = _asset(platform, "Desert tank")
    good = platform.blobs.put(tiny_png(32, 32), media_type="image/png", name="ok.png")
    bad = platform.blobs.put(b"\x89PNG\r\n\x1a\nbroken", media_type="image/png", name="bad.png")
    asset["images"] = [good.to_dict(), bad.to_dict()]
    step = IndexStep(lambda: platform.search_backends)
    assert step.requires == ("integrity",)
    out = step.run(StepContext(asset=asset, blobs=platform.blobs, settings=platform.settings))
    assert out.output["assets"] == 1 and out.output["images"] == 1
    assert out.output["image_errors"] == 1
    assert out.output["models"]["text"].startswith("minilm@")
    backends = platform.search.backends
    assert asset["id"] in backends.vector("asset_text").get([asset["id"]])
    assert set(backends.vector("asset_image").get([f"{asset['id']}#0", f"{asset['id']}#1"])) == {
        f"{asset['id']}#0"
    }
    assert backends.vector("asset_conse").encoder == backends.text_encoder().info.key
    assert [h.id for h in backends.keyword().search("desert", 5)] == [asset["id"]]


def test_consumer_reindexes_on_update_and_drops_on_ban(platform):
    asset = _asset(platform, "Desert tank")
    handle = index_event_handler(platform.db, platform.indexer)
    kw = platform.search.backends.keyword
    # Not yet indexed (no pipeline ran): an update event indexes it.
    platform.assets.update(asset["id"], {"title": "Arctic tank"}, "t", may_moderate=False)
    handle(Event(Topics.ASSET_UPDATED, {"asset_id": asset["id"], "content_changed": True}))
    assert [h.id for h in kw().search("arctic", 5)] == [asset["id"]]
    assert kw().search("desert", 5) == []
    platform.assets.update(asset["id"], {"status": "banned"}, "t", may_moderate=True)
    handle(Event(Topics.ASSET_UPDATED, {"asset_id": asset["id"], "status": "banned"}))
    assert kw().search("arctic", 5) == []
    assert platform.search.backends.vector("asset_text").get([asset["id"]]) == {}
    # Unbanned: missing from the index, so it is indexed again.
    platform.assets.update(asset["id"], {"status": "active"}, "t", may_moderate=True)
    handle(Event(Topics.ASSET_UPDATED, {"asset_id": asset["id"], "status": "active"}))
    assert [h.id for h in kw().search("arctic", 5)] == [asset["id"]]
    handle(Event(Topics.ASSET_DELETED, {"asset_id": asset["id"]}))
    assert kw().search("arctic", 5) == []


def test_cli_rebuild_fills_fresh_indexes(platform):
    ids = [_asset(platform, t)["id"] for t in ("Red car", "Blue boat", "Green tree")]
    data_dir = str(platform.settings.data_dir)
    platform.close()
    result = CliRunner().invoke(app, ["--data-dir", data_dir, "index", "rebuild", "--fresh"])
    assert result.exit_code == 0, result.output
    assert "indexed 3 assets" in result.output
    reopened = Platform.build(Settings.load(data_dir=data_dir))
    try:
        hits = reopened.search.backends.keyword().search("boat", 5)
        assert [h.id for h in hits] == [ids[1]]
        assert len(reopened.search.backends.vector("asset_text")) == 3
    finally:
        reopened.close()
