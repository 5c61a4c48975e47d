"""Bandit (Python AST checks) over the Python scripts of a batch, in-process.

Bandit's noisiest checks for plugin code are left out: B101 (``assert``,
stripped only under ``-O``), B311 (``random`` is fine for games) and the
bare-import checks B403/B404 (importing ``subprocess`` or ``pickle`` is not a
finding; calling them is). Severity follows Bandit's own severity, lowered one
step when its confidence is low.

Example:
    >>> script = ScriptFile("a.py", "python", "exec(x)")
    >>> BanditAnalyser().analyse([script])[0][0].rule_id  # doctest: +SKIP
    'B102'
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from agora.codereview.base import Finding, ScriptFile, Severity
from agora.codereview.workspace import BatchFolder

SKIPPED = ("B101", "B311", "B403", "B404")
_SEVERITY: dict[str, Severity] = {"LOW": "low", "MEDIUM": "medium", "HIGH": "high"}
_LOWER: dict[Severity, Severity] = {
    "high": "medium",
    "medium": "low",
    "low": "info",
    "info": "info",
    "critical": "high",
}
# Bandit test ids by Agora category (the rest are "other").
_CATEGORY = {
    "B102": "dynamic-code",
    "B307": "dynamic-code",
    "B301": "dynamic-code",
    "B302": "dynamic-code",
    "B506": "dynamic-code",
    "B602": "process",
    "B603": "process",
    "B604": "process",
    "B605": "process",
    "B606": "process",
    "B607": "process",
    "B310": "network",
    "B104": "network",
    "B105": "credentials",
    "B106": "credentials",
    "B107": "credentials",
    "B108": "filesystem",
    "B103": "filesystem",
}


class BanditAnalyser:
    """Bandit's checks over the Python files of a batch."""

    name = "bandit"

    def analyse(self, files: Sequence[ScriptFile]) -> list[list[Finding]]:
        from bandit.core import config as b_config
        from bandit.core import manager as b_manager

        out: list[list[Finding]] = [[] for _ in files]
        python = [i for i, f in enumerate(files) if f.language == "python"]
        if not python:
            return out
        logging.getLogger("bandit").setLevel(logging.ERROR)
        with BatchFolder([files[i] for i in python]) as batch:
            conf = b_config.BanditConfig()
            mgr = b_manager.BanditManager(conf, "file", quiet=True)
            mgr.b_ts = b_manager.b_test_set.BanditTestSet(conf, profile={"exclude": SKIPPED})
            mgr.discover_files([str(p) for p in batch.paths])
            mgr.run_tests()
            for issue in mgr.get_issue_list():
                local = batch.index_of(issue.fname)
                if local is None:
                    continue
                script = files[python[local]]
                out[python[local]].append(_finding(issue, script))
        return out


def _finding(issue: object, script: ScriptFile) -> Finding:
    test_id = str(getattr(issue, "test_id", ""))
    severity = _SEVERITY.get(str(getattr(issue, "severity", "LOW")), "low")
    if str(getattr(issue, "confidence", "")) == "LOW":
        severity = _LOWER[severity]
    lines = list(getattr(issue, "linerange", []) or [getattr(issue, "lineno", 1)])
    more = getattr(issue, "cwe", None)
    link = f" ({more.link()})" if more is not None and hasattr(more, "link") else ""
    return Finding(
        analyser="bandit",
        rule_id=test_id,
        severity=severity,
        language="python",
        file=script.name,
        line_start=int(min(lines)),
        line_end=int(max(lines)),
        message=str(getattr(issue, "text", "")),
        fix=f"See Bandit {test_id} {getattr(issue, 'test', '')}{link}".strip(),
        category=_CATEGORY.get(test_id, "other"),
    )
