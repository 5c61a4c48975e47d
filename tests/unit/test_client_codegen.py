"""The sync client is generated from the async one; the committed copy is current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_sync_client_matches_the_async_source() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen-sync-client"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
