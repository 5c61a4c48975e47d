"""Malware scan and scores in the real pipeline: a hit bans the asset and alerts;
the scores carry their breakdown; ``agora quality rescan`` re-runs the steps.

The runner runs integrity, completeness, scan and scores (the model-backed
steps are left out: they are covered elsewhere and do not change this path).
The operators' alert goes to a receiver this test starts on 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agora.catalog import Upload
from agora.cli.main import app
from agora.config import Settings
from agora.pipeline.registry import order_steps
from agora.pipeline.runner import PipelineRunner
from agora.pipeline.steps.completeness import CompletenessStep
from agora.pipeline.steps.integrity import IntegrityStep
from agora.quality.risk import ScoresStep
from agora.quality.scan import ScanStep
from agora.runtime import Platform
from agora.storage.tables import ProcessingResultRow
from agora.testing import samples

pytestmark = pytest.mark.skipif(shutil.which("clamscan") is None, reason="clamav not installed")
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-" + b"STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
STEPS = [
    "agora.quality.scan.step:ScanStep",
    "agora.quality.risk.step:ScoresStep",
]


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        type(self).bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def alerts() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    handler = type("Receiver", (_Receiver,), {"bodies": []})
    server = None
    for port in range(9250, 9300):
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), handler)
            break
        except OSError:
            continue
    assert server is not None, "no free port in 9250-9299"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alert", handler.bodies
    server.shutdown()
    server.server_close()


@pytest.fixture
def platform(tmp_path: Path, alerts: tuple[str, list]) -> Iterator[Platform]:
    settings = Settings.load(
        data_dir=tmp_path / "agora",
        scan={"databases": []},
        mlops={"alert_generic_urls": [alerts[0]]},
        pipeline={"extra_steps": STEPS},
    )
    p = Platform.build(settings)
    p.people.upsert_seller("s1", {"name": "Pixel Forge"}, "t")
    yield p
    p.close()


def _runner(platform: Platform) -> PipelineRunner:
    steps = order_steps(
        [
            IntegrityStep(),
            CompletenessStep(),
            ScanStep.from_settings(platform.settings),
            ScoresStep.from_services(platform.step_services()),
        ]
    )
    return PipelineRunner(
        steps,
        db=platform.db,
        jobs=platform.jobs,
        audit=platform.audit,
        bus=platform.bus,
        blobs=platform.blobs,
        settings=platform.settings,
    )


def _upload(platform: Platform, title: str, files: dict[str, bytes]) -> tuple[str, str]:
    meta = {
        "title": title,
        "seller_id": "s1",
        "description": f"{title}, game ready.",
        "tags": ["game", "asset"],
        "category": "2d",
        "price": 4.0,
        "currency": "USD",
    }
    created = platform.assets.create(
        meta,
        [Upload(n, d) for n, d in files.items()],
        [Upload("cover.png", samples.tiny_png())],
        "t",
        publish=False,
    )
    return created.asset_id, created.job_id


def _results(platform: Platform, asset_id: str) -> dict[str, dict[str, Any]]:
    with platform.db.session() as s:
        rows = (
            s.query(ProcessingResultRow)
            .filter_by(asset_id=asset_id)
            .order_by(ProcessingResultRow.id)
            .all()
        )
        return {r.step: r.output for r in rows}


def _wait_for(predicate: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_eicar_in_a_zip_bans_the_asset_alerts_and_tops_the_risk(
    platform: Platform, alerts: tuple[str, list[dict[str, Any]]]
) -> None:
    bad, bad_job = _upload(
        platform,
        "Sprite pack with tools",
        {"pack.zip": samples.tiny_zip({"tools/setup.com": EICAR, "a.txt": b"hi"})},
    )
    good, good_job = _upload(platform, "Low-poly city block", {"city.glb": samples.tiny_glb()})
    errors = _runner(platform).run_many([(bad, bad_job), (good, good_job)])
    assert errors == {bad_job: None, good_job: None}

    assert platform.assets.get(bad)["status"] == "banned"
    scan = _results(platform, bad)["scan"]
    assert scan["verdict"] == "infected" and scan["block"] is True
    _wait_for(lambda: alerts[1])
    assert alerts[1][0]["rule"] == "malware" and alerts[1][0]["details"]["asset_id"] == bad

    scores = _results(platform, bad)["scores"]
    top = scores["risk"]["breakdown"][0]
    assert top["signal"] == "scan" and top["value"] == 1.0 and "malware" in top["reason"]
    assert scores["risk"]["score"] >= 0.99
    # Steps not in this pipeline are absent signals, said so in the breakdown.
    assert {"duplicates", "models3d", "moderation", "anomaly"} <= set(scores["risk"]["absent"])
    lines = {line["signal"]: line for line in scores["quality"]["breakdown"]}
    assert lines["duplicates"]["value"] is None and "absent" in lines["duplicates"]["reason"]
    assert lines["integrity"]["value"] == 1.0

    assert platform.assets.get(good)["status"] == "active"
    good_scores = _results(platform, good)["scores"]
    assert good_scores["risk"]["score"] < 0.5
    assert 0.0 < good_scores["quality"]["score"] <= 1.0


def test_quality_rescan_reruns_the_steps_with_a_progress_bar(platform: Platform) -> None:
    asset, job = _upload(platform, "Medieval wall tileset", {"wall.obj": samples.tiny_obj()})
    assert _runner(platform).run_many([(asset, job)]) == {job: None}
    first = _results(platform, asset)["scores"]

    result = CliRunner().invoke(
        app,
        [
            "--data-dir",
            str(platform.settings.data_dir),
            "quality",
            "rescan",
            "--status",
            "active",
            "--step",
            "scan",
            "--step",
            "scores",
        ],
        env={
            "AGORA_SCAN__DATABASES": "[]",
            "AGORA_PIPELINE__EXTRA_STEPS": json.dumps(STEPS),
        },
    )
    assert result.exit_code == 0, result.output
    assert "quality rescan" in result.output and "rescanned 1 assets" in result.output
    with platform.db.session() as s:
        rows = s.query(ProcessingResultRow).filter_by(asset_id=asset).all()
    by_job: dict[str, set[str]] = {}
    for r in rows:
        by_job.setdefault(r.job_id, set()).add(r.step)
    rescan_jobs = [j for j in by_job if j.startswith("qr-")]
    assert len(rescan_jobs) == 1
    # Re-run: scan and scores; carried from the upload: integrity, completeness.
    assert by_job[rescan_jobs[0]] == {"integrity", "completeness", "scan", "scores"}
    carried = [r for r in rows if r.job_id == rescan_jobs[0] and r.step == "integrity"]
    assert carried[0].worker.startswith("carried:")
    again = _results(platform, asset)["scores"]
    assert again["risk"]["breakdown"] and again["quality"]["score"] == first["quality"]["score"]
    assert platform.assets.get(asset)["status"] == "active"
