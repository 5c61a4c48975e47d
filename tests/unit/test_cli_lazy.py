"""The CLI loads a command's module only when that command runs.

Help screens must not import the platform: each case runs in a fresh
interpreter and lists the heavy modules it found in ``sys.modules``. The
start-up time itself is measured by ``benchmarks/cli_startup.py``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from agora.cli.main import COMMANDS, app

HEAVY = (
    "agora.runtime", "agora.config", "agora.storage.database", "sqlalchemy", "fastapi",
    "uvicorn", "mlflow", "numpy", "onnxruntime", "torch", "alembic", "redis",
)  # fmt: skip
PROBE = """
import json, sys
from agora.cli.main import app
try:
    app(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
heavy = json.loads({heavy!r})
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy or m in heavy)))
"""


def loaded_heavy_modules(*args: str) -> list[str]:
    probe = PROBE.format(heavy=json.dumps(HEAVY))
    out = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "args",
    [["--help"], *[[row.name, "--help"] for row in COMMANDS]],
    ids=lambda a: " ".join(a),
)
def test_help_screens_import_no_platform(args: list[str]) -> None:
    assert loaded_heavy_modules(*args) == []


def test_a_command_that_runs_does_load_the_platform(tmp_path: Path) -> None:
    # The probe sees the platform when it is loaded: the check above is not vacuous.
    heavy = loaded_heavy_modules("--data-dir", str(tmp_path / "data"), "keys", "list")
    assert {"agora.runtime", "sqlalchemy"} <= set(heavy)


def test_table_help_matches_each_commands_own_help() -> None:
    for row in COMMANDS:
        module_name, _, attribute = row.target.partition(":")
        target = getattr(importlib.import_module(module_name), attribute)
        if isinstance(target, typer.Typer):
            own = target.info.help
        else:
            own = (inspect.getdoc(target) or "").split("\n\n")[0].replace("\n", " ")
        assert row.help == own, row.name


def test_groups_and_commands_still_run_and_suggest() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for row in COMMANDS:
        assert row.name in result.output
    keys = runner.invoke(app, ["keys", "--help"])
    assert keys.exit_code == 0 and "create" in keys.output and "revoke" in keys.output
    # A group with a single command (index rebuild) stays a group.
    index = runner.invoke(app, ["index", "--help"])
    assert index.exit_code == 0 and "rebuild" in index.output
    typo = runner.invoke(app, ["key", "list"])
    assert typo.exit_code == 2 and "keys" in typo.output
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.output.startswith("agora ")
