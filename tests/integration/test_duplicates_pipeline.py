"""The ``duplicates`` step in the real pipeline (embedded backends, EfficientNet-Lite0):
another seller's flipped copy is held with the original linked and queued; the
seller's own re-upload is a version; a corrupt picture never fails the step; the
result is served by ``GET /api/v1/assets/{id}/duplicates``."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from agora.api.app import create_app
from agora.catalog import Upload
from agora.config import Settings
from agora.moderation.tables import ModerationItemRow
from agora.pipeline.registry import order_steps
from agora.pipeline.runner import PipelineRunner
from agora.pipeline.steps.index import IndexStep
from agora.pipeline.steps.integrity import IntegrityStep
from agora.pipeline.steps.moderation import ModerationStep
from agora.quality.duplicates.step import DuplicatesStep
from agora.runtime import Platform
from agora.storage.tables import AssetRow
from agora.testing.api import bearer
from agora.testing.samples import truncated_png

skimage_data = pytest.importorskip("skimage.data")


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def photo(name: str) -> Image.Image:
    img = Image.fromarray(getattr(skimage_data, name)())
    img.thumbnail((256, 256))
    return img.convert("RGB")


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    p = Platform.build(Settings.load(data_dir=tmp_path / "agora"))
    p.people.upsert_seller("s1", {"name": "Pixel Forge"}, "t")
    p.people.upsert_seller("s2", {"name": "Copy Cat"}, "t")
    yield p
    p.close()


def _runner(platform: Platform) -> PipelineRunner:
    # The steps by class, not by entry point: the installed metadata may name the
    # steps of another checkout.
    services = platform.step_services()
    classes = (IntegrityStep, ModerationStep, IndexStep, DuplicatesStep)
    steps = order_steps([cls.from_services(services) for cls in classes])
    return PipelineRunner(
        steps, db=platform.db, jobs=platform.jobs, audit=platform.audit, bus=platform.bus,
        blobs=platform.blobs, settings=platform.settings,
    )  # fmt: skip


def _upload(platform: Platform, seller: str, title: str, image: bytes) -> str:
    meta = {"title": title, "seller_id": seller, "description": f"{title}, hand painted.",
            "tags": ["art"]}  # fmt: skip
    return platform.assets.create(meta, [], [Upload("cover.png", image)], "t").asset_id


def _drain(runner: PipelineRunner) -> None:
    consumer = runner.consumer("test-duplicates")
    while consumer.run_once(max_count=8, block_ms=0) > 0:
        pass


def _duplicates(platform: Platform, asset_id: str) -> dict:  # type: ignore[type-arg]
    results = platform.assets.processing_results(asset_id)
    return next(r for r in results if r["step"] == "duplicates")["output"]


def test_copies_are_held_linked_and_versions_marked(platform: Platform) -> None:
    runner = _runner(platform)
    cat = photo("chelsea")
    original = _upload(platform, "s1", "Cat portrait", png(cat))
    unrelated = _upload(platform, "s1", "Coffee cup", png(photo("coffee")))
    _drain(runner)
    assert platform.assets.get(original)["status"] == "active"
    assert _duplicates(platform, unrelated)["near"] == []

    flipped = _upload(
        platform, "s2", "My cat painting", png(cat.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    )
    again = _upload(
        platform, "s1", "Cat portrait (v2)", png(cat.transpose(Image.Transpose.ROTATE_90))
    )
    corrupt = _upload(platform, "s2", "Broken cover", png(photo("coffee")))
    bad = platform.blobs.put(truncated_png(), media_type="image/png", name="broken.png")
    with platform.db.session() as s:
        s.get(AssetRow, corrupt).images = [bad.to_dict()]  # type: ignore[union-attr]
    _drain(runner)

    # Another seller's flipped copy: held (flagged) with the original linked.
    out = _duplicates(platform, flipped)
    assert out["held"] and out["of_other_seller"] and out["original"] == original
    assert out["near"][0]["asset_id"] == original and out["near"][0]["kind"] == "flip"
    assert out["near"][0]["transform"] == "flip_h" and out["near"][0]["distance"] <= 2
    assert platform.assets.get(flipped)["status"] == "flagged"
    platform.moderation_queue.sync()
    with platform.db.session() as s:
        queued = s.query(ModerationItemRow).filter_by(asset_id=flipped).all()
        assert len(queued) == 1
        assert queued[0].reasons[0]["original"] == original

    # The seller's own re-upload (turned): a version, not held.
    own = _duplicates(platform, again)
    assert own["own_version_of"] == original and not own["held"]
    assert own["near"][0]["transform"] == "rotate90"
    assert platform.assets.get(again)["status"] == "active"

    # A corrupt picture is an error entry of the step, never a failed step.
    broken = _duplicates(platform, corrupt)
    assert "error" not in broken and len(broken["errors"]) == 1
    assert broken["near"] == [] and not broken["held"]

    with TestClient(create_app(platform, start_background=False)) as client:
        key = bearer(platform.keys.create(["read"]).token)
        body = client.get(f"/api/v1/assets/{flipped}/duplicates", headers=key).json()
        assert body["checked"] and body["held"] and body["original"] == original
        assert body["near"][0]["kind"] == "flip" and body["near"][0]["seller_id"] == "s1"
        assert client.get("/api/v1/assets/nope/duplicates", headers=key).status_code == 404


def test_a_restarted_worker_rebuilds_the_index_from_the_catalog(platform: Platform) -> None:
    cat = photo("astronaut")
    original = _upload(platform, "s1", "Astronaut", png(cat))
    _drain(_runner(platform))
    # A fresh step (a new process) knows nothing until it reads the recorded results.
    copy = _upload(
        platform, "s2", "Space person", png(cat.transpose(Image.Transpose.FLIP_TOP_BOTTOM))
    )
    _drain(_runner(platform))
    out = _duplicates(platform, copy)
    assert out["original"] == original and out["near"][0]["transform"] == "flip_v"
