"""A real ``agora serve --workers 2`` on embedded backends.

Two API processes share the SQLite catalog (WAL) and the SQLite bus outbox; a
separate worker process runs the pipeline. Bad input from concurrent clients
gets 4xx answers, and the platform keeps serving and processing afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from agora.testing.net import free_port
from agora.testing.processes import running, tail
from agora.testing.samples import png_bomb, tiny_png, truncated_png
from agora.testing.wait import PROCESS_START_S, wait_until

# Generous deadlines: three interpreters start at once beside a busy machine's load.
pytestmark = [pytest.mark.slow, pytest.mark.process, pytest.mark.timeout(900)]


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
        timeout=PROCESS_START_S,
    ).stdout
    token = out.strip().splitlines()[-1].split()[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with running(
        [*agora, "serve", "--port", str(port), "--workers", "2"], env=env, log=log
    ) as proc:
        _exercise(proc, base, token, log)


def _exercise(proc: subprocess.Popen[bytes], base: str, token: str, log: Path) -> None:
    def alive() -> str | None:
        return None if proc.poll() is None else f"serve exited:\n{tail(log)}"

    def wait(predicate: Callable[[], bool], what: str) -> None:
        wait_until(
            predicate,
            timeout_s=PROCESS_START_S,
            what=what,
            interval_s=0.3,
            alive=alive,
            ignore=(httpx.TransportError,),
        )

    headers = {"Authorization": f"Bearer {token}"}
    wait(lambda: httpx.get(f"{base}/readyz", timeout=10).status_code == 200, "readiness")
    httpx.put(f"{base}/api/v1/sellers/s1", headers=headers, json={"name": "S"}, timeout=30)

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
            f"{base}/api/v1/assets", headers=headers, params={"limit": 100}, timeout=30
        ).json()["items"]
        return len(items) == 4 and all(a["status"] == "active" for a in items)

    wait(all_active, "the worker process to activate every asset")
    listing = httpx.get(f"{base}/api/v1/assets", headers=headers, timeout=30).json()
    asset_id = listing["items"][0]["id"]

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
    metrics = httpx.get(f"{base}/metrics", timeout=30).text
    assert 'agora_http_request_duration_seconds_count{method="POST"' in metrics
    assert proc.poll() is None
