"""A real ``agora serve --workers 2`` on embedded backends.

Two API processes share the SQLite catalog (WAL) and the SQLite bus outbox; a
separate worker process runs the pipeline. Bad input from concurrent clients
gets 4xx answers, and the platform keeps serving and processing afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from agora.testing.net import free_port
from agora.testing.samples import png_bomb, tiny_png, truncated_png

pytestmark = pytest.mark.slow


def _wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_api_processes_and_a_worker(tmp_path: Path) -> None:
    env = os.environ | {
        "AGORA_DATA_DIR": str(tmp_path / "agora"),
        "AGORA_SERVER__LOG_JSON": "false",
    }
    agora = [sys.executable, "-m", "agora.cli.main"]
    out = subprocess.run(
        [*agora, "keys", "create", "--scope", "admin"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    token = out.strip().splitlines()[-1].split()[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [*agora, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    headers = {"Authorization": f"Bearer {token}"}
    try:
        _wait_until(lambda: httpx.get(f"{base}/readyz").status_code == 200, 60, "readiness")
        httpx.put(f"{base}/api/v1/sellers/s1", headers=headers, json={"name": "S"})

        def upload(i: int) -> int:
            image = [tiny_png(), truncated_png(), png_bomb()][i % 3]
            r = httpx.post(
                f"{base}/api/v1/assets",
                headers=headers,
                timeout=30,
                files=[
                    ("metadata", (None, json.dumps({"title": f"Item {i}", "seller_id": "s1"}))),
                    ("images", (f"i{i}.png", image, "image/png")),
                ],
            )
            return r.status_code

        with ThreadPoolExecutor(4) as pool:
            codes = list(pool.map(upload, range(12)))
        assert codes.count(202) == 4
        assert sorted(set(codes) - {202}) == [413, 422]

        def all_active() -> bool:
            items = httpx.get(
                f"{base}/api/v1/assets", headers=headers, params={"limit": 100}
            ).json()["items"]
            return len(items) == 4 and all(a["status"] == "active" for a in items)

        _wait_until(all_active, 60, "the worker process to activate every asset")
        asset_id = httpx.get(f"{base}/api/v1/assets", headers=headers).json()["items"][0]["id"]

        def post_events(i: int) -> int:
            events = [
                {"user_id": f"u{i}-{j}", "asset_id": asset_id, "type": "view"} for j in range(200)
            ]
            r = httpx.post(
                f"{base}/api/v1/events", headers=headers, json={"events": events}, timeout=30
            )
            return int(r.json()["accepted"])

        with ThreadPoolExecutor(4) as pool:
            assert sum(pool.map(post_events, range(8))) == 1600
        metrics = httpx.get(f"{base}/metrics").text
        assert 'agora_http_request_duration_seconds_count{method="POST"' in metrics
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
