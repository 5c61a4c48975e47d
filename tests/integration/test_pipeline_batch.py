"""The pipeline over a batch of assets: each settles on its own, with the real
embedded backends (MiniLM, EfficientNet-Lite0, the moderation and tagging models).

One corrupt image, one step that refuses one asset (``InvalidInput``) and a
step whose batch path crashes never keep the other assets of the batch from
settling; batch and single runs give the same step outputs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agora.catalog import Upload
from agora.config import Settings
from agora.errors import InvalidInput
from agora.pipeline.base import Step, StepContext, StepOutcome
from agora.pipeline.registry import order_steps
from agora.pipeline.runner import PipelineRunner
from agora.runtime import Platform
from agora.storage.tables import AssetRow, ProcessingResultRow
from agora.testing.samples import tiny_png, truncated_png

TITLES = [
    "Low-poly desert tank with tracks",
    "Pixel art knight sprite sheet",
    "Medieval castle wall tileset",
    "Sci-fi laser rifle model",
    "Cartoon forest background pack",
]


class Picky(Step):
    """Refuses assets titled "refuse me"; its batch path crashes whenever one is in
    the batch (a step bug), so the runner must fall back to each asset alone."""

    name, version = "picky", "1"

    def run(self, ctx: StepContext) -> StepOutcome:
        if ctx.asset["title"] == "refuse me":
            raise InvalidInput("picky refuses this asset")
        return StepOutcome(output={"ok": True})

    def run_batch(self, ctxs: Sequence[StepContext]) -> list[StepOutcome | Exception]:
        if any(c.asset["title"] == "refuse me" for c in ctxs):
            raise RuntimeError("batch path bug")
        return super().run_batch(ctxs)


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    p = Platform.build(Settings.load(data_dir=tmp_path / "agora"))
    p.people.upsert_seller("s1", {"name": "Pixel Forge", "trust_score": 0.9}, "t")
    yield p
    p.close()


def _create(platform: Platform, title: str, image: bytes, n: int) -> tuple[str, str]:
    meta = {"title": title, "seller_id": "s1", "description": f"{title}, game ready.",
            "tags": ["game", "asset"]}  # fmt: skip
    created = platform.assets.create(meta, [], [Upload(f"cover{n}.png", image)], "t")
    return created.asset_id, created.job_id


def _runner(platform: Platform, extra: list[Step]) -> PipelineRunner:
    base = platform.pipeline_runner()
    return PipelineRunner(
        order_steps(base.steps + extra), db=platform.db, jobs=platform.jobs,
        audit=platform.audit, bus=platform.bus, blobs=platform.blobs, settings=platform.settings,
    )  # fmt: skip


def _results(platform: Platform, asset_id: str) -> dict[str, ProcessingResultRow]:
    with platform.db.session() as s:
        rows = s.query(ProcessingResultRow).filter_by(asset_id=asset_id).all()
        return {r.step: r for r in rows}


def test_a_batch_with_a_corrupt_asset_settles_every_other_asset(platform: Platform) -> None:
    pairs = [_create(platform, t, tiny_png(48, 32, alpha=True), i) for i, t in enumerate(TITLES)]
    corrupt = _create(platform, "Broken cover art", tiny_png(20, 20), 90)
    # Uploads refuse corrupt images; a blob that rotted (or was stored before the
    # checks tightened) is what reaches the pipeline.
    bad = platform.blobs.put(truncated_png(), media_type="image/png", name="broken.png")
    with platform.db.session() as s:
        s.get(AssetRow, corrupt[0]).images = [bad.to_dict()]  # type: ignore[union-attr]
    refused = _create(platform, "refuse me", tiny_png(16, 16), 91)
    batch = [*pairs[:2], corrupt, refused, *pairs[2:]]
    consumer = _runner(platform, [Picky()]).consumer("test-batch")
    # Every event of the batch in one consumer call (a batch handler, not one by one);
    # the loop ends on a condition: the group has nothing left to read.
    handled = 0
    while (n := consumer.run_once(max_count=len(batch), block_ms=0)) > 0:
        handled += n
    assert handled == len(batch)

    for asset_id, job_id in batch:
        asset = platform.assets.get(asset_id)
        assert asset["processed_at"] is not None, asset_id
        assert platform.jobs.get(job_id)["status"] == "succeeded"
    for asset_id, _ in pairs:
        asset = platform.assets.get(asset_id)
        assert asset["status"] == "active"
        done = _results(platform, asset_id)
        assert "error" not in done["index"].output and done["index"].output["images"] == 1
        assert done["picky"].output == {"ok": True}
        assert asset["pipeline"]["stages"]["semantic_searchable"]
        assert asset["pipeline"]["stages"]["processed"]
    broken = _results(platform, corrupt[0])
    assert not broken["integrity"].output["ok"]  # the corrupt image: recorded, held
    assert platform.assets.get(corrupt[0])["status"] == "flagged"
    assert broken["index"].output["image_errors"] == 1
    picky = _results(platform, refused[0])["picky"]
    assert "InvalidInput" in picky.output["error"]
    # Picky may not hold: the refused asset is still accepted.
    assert platform.assets.get(refused[0])["status"] == "active"


def _comparable(step: str, output: dict[str, Any]) -> dict[str, Any]:
    # Duplicates compares an asset with those processed before it (run one at a
    # time, the second sprite finds the first); the scores read it.
    if step in ("duplicates", "scores"):
        return {}
    # Timings and wall-clock stamps differ between any two runs.
    if step == "tagging":
        return {"tags": [(t["category"], t["name"]) for t in output["tags"]]}
    if step == "moderation":
        return {k: v for k, v in output.items() if k not in ("latency_ms", "elapsed_ms")}
    return output


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return bool(np.isclose(a, b, atol=1e-4))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def test_batch_and_single_runs_give_the_same_step_outputs(platform: Platform) -> None:
    pairs = [
        _create(platform, t, tiny_png(24 + i, 24, alpha=True), i) for i, t in enumerate(TITLES)
    ]
    runner = platform.pipeline_runner()
    assets = [platform.assets.get(a) for a, _ in pairs]
    upstream: list[dict[str, dict[str, Any]]] = [{} for _ in assets]
    for step in runner.steps:
        ctxs = [
            StepContext(asset=a, blobs=platform.blobs, settings=platform.settings,
                        upstream={r: up[r] for r in step.requires})
            for a, up in zip(assets, upstream, strict=True)
        ]  # fmt: skip
        batch = step.run_batch(ctxs)
        single = [step.run(c) for c in ctxs]
        for b, s, up in zip(batch, single, upstream, strict=True):
            assert isinstance(b, StepOutcome), b
            assert _close(_comparable(step.name, b.output), _comparable(step.name, s.output)), (
                step.name, b.output, s.output,
            )  # fmt: skip
            assert (b.hold, b.reason) == (s.hold, s.reason)
            up[step.name] = b.output
