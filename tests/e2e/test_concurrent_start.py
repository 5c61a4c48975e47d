"""``agora serve``, ``agora worker`` and ``agora keys create`` started together on a
fresh data dir: the schema is migrated once, under a lock, and all three succeed.

Before the migration lock, 3 of 4 such starts failed ("table api_keys already
exists", or the server died at start-up). Each round uses a new data dir and
starts the three processes back to back (well inside the second each one
spends importing), then waits on conditions: the key command's exit, the
server's /readyz, the worker's "started" log line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from agora.testing.net import free_port
from agora.testing.processes import stop_group

# Keys, readiness and the worker's log line each get DEADLINE_S: a longer test timeout.
pytestmark = [pytest.mark.process, pytest.mark.slow, pytest.mark.timeout(900)]

# .ci/run's CPU-burner rerun asks for fewer rounds (each is three interpreter starts).
ROUNDS = int(os.environ.get("AGORA_TEST_CONCURRENT_START_ROUNDS", "20"))
DEADLINE_S = 240.0  # a loaded 2-core machine starts three interpreters at once


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def _wait(
    predicate: Callable[[], bool], procs: dict[str, subprocess.Popen[bytes]], logs: Path
) -> None:
    """Poll ``predicate`` until true; fail at once if a long-running process died."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if predicate():
            return
        for name in ("serve", "worker"):
            if procs[name].poll() is not None:
                pytest.fail(f"{name} exited with {procs[name].returncode}:\n{_tail(logs / name)}")
        time.sleep(0.2)  # polling interval, not a guess at how long anything takes
    pytest.fail(f"timed out; serve log:\n{_tail(logs / 'serve')}")


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_serve_worker_and_keys_start_together_on_a_fresh_data_dir(
    tmp_path: Path, round_no: int
) -> None:
    data = tmp_path / "data"
    env = os.environ | {"AGORA_DATA_DIR": str(data), "AGORA_SERVER__LOG_JSON": "false"}
    agora = [sys.executable, "-m", "agora.cli.main"]
    port = free_port()
    commands = {
        "serve": [*agora, "serve", "--port", str(port)],
        "worker": [*agora, "worker"],
        "keys": [*agora, "keys", "create", "--scope", "admin", "--name", f"round-{round_no}"],
    }
    procs: dict[str, subprocess.Popen[bytes]] = {}
    files = []
    try:
        for name, argv in commands.items():
            out = (tmp_path / name).open("wb")
            files.append(out)
            procs[name] = subprocess.Popen(
                argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        keys_rc = procs["keys"].wait(timeout=DEADLINE_S)
        assert keys_rc == 0, _tail(tmp_path / "keys")
        token = _tail(tmp_path / "keys").strip().splitlines()[-1].split()[-1]
        assert token.startswith("agora_")
        _wait(lambda: _ready(f"http://127.0.0.1:{port}/readyz"), procs, tmp_path)
        _wait(lambda: "started" in _tail(tmp_path / "worker"), procs, tmp_path)
        # The key made during the race authenticates against the server made during it.
        r = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/assets",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        for name in ("serve", "worker"):
            procs[name].send_signal(signal.SIGTERM)
        for name in ("serve", "worker"):
            # uvicorn re-raises the signal after its graceful shutdown: -SIGTERM is clean too.
            rc = procs[name].wait(timeout=60)
            assert rc in (0, -signal.SIGTERM), _tail(tmp_path / name)
    finally:
        for proc in procs.values():
            stop_group(proc)  # whatever a failed round left running, children included
        for f in files:
            f.close()
