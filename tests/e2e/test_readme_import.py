"""The README's import section runs verbatim against a live server (after the
tour's step 0, which sets ``AGORA_URL``, ``AGORA_KEY`` and ``api``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agora.api.app import create_app
from agora.config import Settings
from agora.runtime import Platform
from agora.testing.net import LiveServer
from agora.testing.wait import wait_until

pytestmark = [pytest.mark.process, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BIN = Path(sys.executable).parent


def _blocks(start: str, end: str) -> list[str]:
    text = README.read_text().split(start, 1)[1].split(end, 1)[0]
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Platform, dict[str, str]]]:
    data = tmp_path / "agora"
    platform = Platform.build(Settings.load(data_dir=data))
    platform.people.upsert_seller("iron-tread-games", {"name": "Iron Tread Games"}, "test")
    (data / "demo-admin-key.txt").write_text(platform.keys.create(["admin"]).token)
    try:
        # Background workers on: the import without --defer-models waits for them.
        with LiveServer(create_app(platform, start_background=True)) as url:
            yield platform, {"AGORA_URL": url, "AGORA_DATA_DIR": str(data)}
    finally:
        platform.close()


def test_the_import_section_runs_verbatim(
    served: tuple[Platform, dict[str, str]], tmp_path: Path
) -> None:
    platform, server = served
    connect = _blocks("<!-- tour:start -->", "<!-- tour:end -->")[0]
    (section,) = _blocks("<!-- import:start -->", "<!-- import:end -->")
    script = f'set -euo pipefail\n{connect}\necho "::import::"\n{section}'
    env = os.environ | server | {"PATH": f"{BIN}:{os.environ['PATH']}", "TMPDIR": str(tmp_path)}
    env.pop("AGORA_KEY", None)
    done = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    out = done.stdout.split("::import::", 1)[1]
    assert "imported 2 of 2 records from listings.jsonl as assets (0 failed)" in out, out
    assert "processed 2 (0 failed)" in out, out
    assert "imported 4 of 4 records from alien as assets (0 failed)" in out, out
    reports = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    listings, aliens = reports
    assert (listings["status"], listings["processed"]) == ("succeeded", 2)
    assert aliens["deferred"] and aliens["accepted"] == 4
    # The deferred images are processed in the background.
    sessions = platform.import_sessions()
    wait_until(
        lambda: sessions.status("readme-aliens")["status"] == "succeeded",
        timeout_s=300,
        what="the deferred image import to be processed",
    )
