"""A worker killed in the middle of an optimisation: another worker finishes it.

Real servers and processes: PostgreSQL catalog, Redis Streams bus, two
`agora worker` processes sharing one blob folder. The first worker is
SIGKILLed while it upscales (tile after tile, progress in the job); the second
reclaims the delivery after the visibility timeout, takes the job over once
its heartbeat is stale, and finishes it. One derivative version is recorded
and every stored object is referenced: the upload and that version's file.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from agora.catalog import Upload
from agora.config import Settings
from agora.processing.options import OptimizationSpec
from agora.runtime import Platform
from agora.storage.tables import DerivativeRow
from agora.testing.processes import running, tail
from agora.testing.wait import PROCESS_START_S, wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.process,
    pytest.mark.timeout(1200),
]


def _alive(proc: subprocess.Popen[bytes], log: Path) -> Callable[[], str | None]:
    return lambda: None if proc.poll() is None else f"worker exited:\n{tail(log)}"


def _texture() -> bytes:
    """256x256 smooth colours: 256 tiles of 16 px, seconds of work even when quiet."""
    rng = np.random.default_rng(3)
    coarse = Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8))
    buffer = io.BytesIO()
    coarse.resize((256, 256), Image.Resampling.BICUBIC).save(buffer, format="PNG")
    return buffer.getvalue()


def test_killed_optimisation_is_finished_by_another_worker(
    tmp_path: Path, pg_url: str, redis_url: str
) -> None:
    data_dir = tmp_path / "agora"
    env = os.environ | {
        "AGORA_DATA_DIR": str(data_dir),
        "AGORA_CATALOG__URL": pg_url,
        "AGORA_BUS__URL": redis_url,
        "AGORA_BUS__VISIBILITY_TIMEOUT_S": "2",
        "AGORA_PROCESSING__STALE_AFTER_S": "2",
        # The pipeline's model steps are not what this test is about.
        "AGORA_PIPELINE__DISABLED_STEPS": json.dumps(["index", "moderation", "tagging"]),
        "AGORA_PIPELINE__WORKER_PROCESSES": "1",
        "AGORA_SERVER__LOG_JSON": "false",
    }
    settings = Settings.load(data_dir=data_dir, catalog={"url": pg_url}, bus={"url": redis_url})
    platform = Platform.build(settings)
    try:
        platform.people.upsert_seller("s1", {"name": "S"}, "test")
        created = platform.assets.create(
            {"title": "Wall texture", "seller_id": "s1"},
            [],
            [Upload("wall.png", _texture(), "image/png")],
            "test",
        )
        spec = OptimizationSpec(operation="upscale", options={"model": "fast", "tile": 16})
        (job,) = platform.optimizations.request(created.asset_id, [spec], actor="test")
        job_id = job["job_id"]
        agora = str(Path(sys.executable).parent / "agora")
        first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
        with running([agora, "worker"], env=env, log=first_log) as first:
            wait_until(
                lambda: (platform.jobs.get(job_id)["message"] or "").startswith("tile "),
                timeout_s=PROCESS_START_S,
                what="the first worker to be upscaling tiles",
                alive=_alive(first, first_log),
            )
            first.send_signal(signal.SIGKILL)
            first.wait(PROCESS_START_S)
        killed_at = platform.jobs.get(job_id)
        assert killed_at["status"] == "running" and killed_at["percent"] < 90, killed_at
        with running([agora, "worker"], env=env, log=second_log) as second:
            wait_until(
                lambda: platform.jobs.get(job_id)["status"] == "succeeded",
                timeout_s=PROCESS_START_S * 3,  # start-up, takeover, 256 tiles
                what="the second worker to finish the job",
                alive=_alive(second, second_log),
            )
        done = platform.jobs.get(job_id)
        assert done["result"]["derivative_created"] is True
        with platform.db.session() as s:
            rows = list(s.scalars(select(DerivativeRow)))
            versions = [(r.operation, r.version) for r in rows]
            files = [f["sha256"] for r in rows for f in r.files]
        assert len(versions) == 1, versions  # one derivative version
        source = platform.assets.get(created.asset_id)["images"][0]["sha256"]
        derived = [ref.sha256 for _k, _v, ref in platform.blobs.list_derived(source)]
        assert derived == files
        # No orphans: the store holds the upload and the derivative's file, nothing else.
        stored = {p.parent.name + p.name for p in (data_dir / "blobs" / "objects").rglob("*")
                  if p.is_file()}  # fmt: skip
        assert stored == {source, *files}
        with Image.open(io.BytesIO(platform.blobs.get(files[0]))) as up:
            assert up.size == (1024, 1024)
    finally:
        platform.close()
