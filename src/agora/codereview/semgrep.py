"""Semgrep over the vendored rule files, offline, one process per batch.

The rules live in ``agora/codereview/rules/semgrep/`` (written here; the
registry needs the internet, semgrep#4620/#3147). Semgrep runs with
``--metrics=off`` and no version check, on a temporary folder holding the
whole batch, so its start-up (a few seconds) is paid once per batch, not per
file. A rule's ``metadata`` gives Agora's severity, category and fix hint.

Example:
    >>> SemgrepAnalyser().analyse([ScriptFile("a.py", "python", "os.system(x)")])  # doctest: +SKIP
    [[Finding(analyser='semgrep', rule_id='py-shell-command', ...)]]
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agora.codereview.base import SEVERITY_SCORE, Finding, ScriptFile, Severity
from agora.codereview.workspace import BatchFolder
from agora.errors import BackendUnavailable

log = logging.getLogger("agora.codereview")
RULES = Path(__file__).parent / "rules" / "semgrep"
_SEMGREP_SEVERITY: dict[str, Severity] = {"ERROR": "high", "WARNING": "medium", "INFO": "low"}


# `make install` puts Semgrep in its own virtualenv here: its pins (OpenTelemetry,
# protobuf, wrapt, click) would downgrade the platform's own dependencies.
TOOL_VENV = Path(__file__).resolve().parents[3] / ".tools" / "semgrep" / "bin" / "semgrep"


def semgrep_binary(configured: str = "") -> str:
    """The ``semgrep`` CLI: ``configured``, else beside this interpreter, else on
    ``PATH``, else the checkout's tool virtualenv (``.tools/semgrep``)."""
    if configured:
        return configured
    beside = Path(sys.executable).parent / "semgrep"
    if beside.exists():
        return str(beside)
    found = shutil.which("semgrep")
    if found is not None:
        return found
    if TOOL_VENV.exists():
        return str(TOOL_VENV)
    raise BackendUnavailable("semgrep is not installed (make install, or pip install semgrep)")


class SemgrepAnalyser:
    """Runs the vendored rules over a batch of scripts in one Semgrep process."""

    name = "semgrep"

    def __init__(
        self, rules: Path = RULES, timeout_s: float = 120.0, jobs: int = 1, binary: str = ""
    ) -> None:
        self.rules = rules
        self.timeout_s = timeout_s
        self.jobs = jobs
        self.binary = binary

    def command(self, target: Path) -> list[str]:
        return [
            semgrep_binary(self.binary),
            "scan",
            "--config",
            str(self.rules),
            "--json",
            "--metrics=off",
            "--disable-version-check",
            "--no-git-ignore",
            "--quiet",
            "--jobs",
            str(self.jobs),
            "--timeout",
            "10",
            str(target),
        ]

    def analyse(self, files: Sequence[ScriptFile]) -> list[list[Finding]]:
        out: list[list[Finding]] = [[] for _ in files]
        if not files:
            return out
        with BatchFolder(files) as batch:
            report = self._run(batch.root)
            for result in report.get("results", []):
                index = batch.index_of(result.get("path", ""))
                if index is not None:
                    out[index].append(_finding(result, files[index]))
        return out

    def _run(self, target: Path) -> dict[str, Any]:
        env = {
            **os.environ,
            "SEMGREP_SEND_METRICS": "off",
            "SEMGREP_ENABLE_VERSION_CHECK": "0",
            "SEMGREP_IN_DOCKER": "0",
        }
        try:
            proc = subprocess.run(
                self.command(target),
                capture_output=True,
                text=True,
                timeout=self.timeout_s,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise BackendUnavailable(f"semgrep timed out after {self.timeout_s} s") from exc
        # Exit 0: no findings or findings; 1: findings with --error; 2+: a failure.
        if proc.returncode not in (0, 1) or not proc.stdout.strip():
            raise BackendUnavailable(
                f"semgrep failed (exit {proc.returncode}): {proc.stderr.strip()[-400:]}"
            )
        report: dict[str, Any] = json.loads(proc.stdout)
        for error in report.get("errors", []):
            # A file Semgrep cannot parse still gets the regex rules; note it only.
            log.debug("semgrep: %s", error.get("message", error))
        return report


def _finding(result: dict[str, Any], script: ScriptFile) -> Finding:
    extra = result.get("extra", {})
    meta = extra.get("metadata", {})
    severity = meta.get("agora_severity")
    if severity not in SEVERITY_SCORE:
        severity = _SEMGREP_SEVERITY.get(str(extra.get("severity", "")).upper(), "low")
    return Finding(
        analyser="semgrep",
        rule_id=str(result.get("check_id", "")).rsplit(".", 1)[-1],
        severity=severity,
        language=script.language,
        file=script.name,
        line_start=int(result.get("start", {}).get("line", 1)),
        line_end=int(result.get("end", {}).get("line", 1)),
        message=str(extra.get("message", "")).strip(),
        fix=str(meta.get("fix", "")),
        category=str(meta.get("category", "other")),
    )
