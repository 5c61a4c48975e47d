"""``agora serve`` and ``agora demo`` refuse bad settings: exit 2 with a message
that names the setting and its choices, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AGORA_")}
    environ |= {"AGORA_DATA_DIR": str(cwd / "data"), "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "agora.cli.main", *args],
        cwd=cwd,
        env=environ | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", [["serve"], ["demo"]])
def test_a_bad_environment_setting_stops_start_up(tmp_path: Path, command: list[str]) -> None:
    done = run_cli(command, tmp_path, AGORA_RANKING__FRAUD_ACTION="demoet")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "ranking.fraud_action (AGORA_RANKING__FRAUD_ACTION): 'demoet'" in done.stderr
    assert "did you mean 'demote'?" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "data").exists()  # nothing was started or created


def test_a_typo_in_agora_toml_stops_serve(tmp_path: Path) -> None:
    (tmp_path / "agora.toml").write_text('[search]\nfusoin = "rrf"\n')
    done = run_cli(["serve", "--port", "1"], tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "search.fusoin" in done.stderr and "did you mean 'fusion'?" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
