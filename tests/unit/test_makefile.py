"""``make run`` is the one command: it takes PORT and HOST, and installs no dev tools."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN_STAMP, DEV_STAMP = ".venv/.installed-run", ".venv/.installed-dev"


def dry_run(*args: str, up_to_date: tuple[str, ...] = (RUN_STAMP, DEV_STAMP)) -> str:
    """The commands ``make -n`` prints; ``up_to_date`` stamps are taken as built."""
    fresh = [arg for stamp in up_to_date for arg in ("-o", stamp)]
    return subprocess.run(
        ["make", "-n", *fresh, *args],
        cwd=ROOT, capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin"},
    ).stdout.strip()  # fmt: skip


def test_make_run_serves_on_the_given_port_and_host() -> None:
    assert dry_run("run").endswith("agora serve --host 127.0.0.1 --port 8000")
    moved = dry_run("run", "PORT=8123", "HOST=0.0.0.0")
    assert moved.endswith("agora serve --host 0.0.0.0 --port 8123")


def test_the_run_install_has_no_dev_extra_and_the_test_install_adds_it() -> None:
    # -W: as if pyproject.toml had just changed, so the install steps are printed.
    run = dry_run("-W", "pyproject.toml", "run", up_to_date=(DEV_STAMP,))
    assert "pip install -q --no-compile -e .\n" in run and "[dev]" not in run
    install = dry_run("-W", "pyproject.toml", "install", up_to_date=())
    assert "-e .\n" in install and 'pip install -q -e ".[dev,docs]"' in install
