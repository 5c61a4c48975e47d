"""GuardDog's shipped YARA source-code rules, through yara-python.

The rules are read from the installed ``guarddog`` package
(``guarddog/analyzer/sourcecode/*.yar``, Apache-2.0, Datadog), never copied
here, and compiled once per process; a rule that does not compile with this
yara is skipped and logged. GuardDog names rules ``threat-*`` (behaviour seen
in malware) or ``capability-*`` (what code can do, often benign): a rule's
``meta.severity`` wins, else threats are high and capabilities low.

Example:
    >>> YaraAnalyser().analyse([ScriptFile("a.py", "python", "x")])  # doctest: +SKIP
    [[]]
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from agora.codereview.base import SEVERITY_SCORE, Finding, ScriptFile, Severity
from agora.errors import BackendUnavailable

log = logging.getLogger("agora.codereview")
_CATEGORY_HINTS = (
    ("obfuscation", "obfuscation"),
    ("download", "download-exec"),
    ("exfil", "exfiltration"),
    ("autostart", "persistence"),
    ("hooks", "persistence"),
    ("schedule", "persistence"),
    ("crypto", "miner"),
    ("spawn", "process"),
    ("process", "process"),
    ("environment", "credentials"),
    ("passwd", "credentials"),
    ("browser", "credentials"),
    ("filesystem", "filesystem"),
    ("network", "network"),
    ("shady", "network"),
    ("keylog", "recon"),
    ("screen", "recon"),
    ("clipboard", "recon"),
    ("system", "recon"),
    ("sysinfo", "recon"),
    ("loader", "dynamic-code"),
)


def guarddog_rules_dir() -> Path:
    """The ``sourcecode`` rule folder of the installed guarddog package."""
    spec = importlib.util.find_spec("guarddog")
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable("guarddog is not installed (pip install guarddog)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "analyzer" / "sourcecode"
    if not folder.is_dir():
        raise BackendUnavailable(f"guarddog has no rule folder at {folder}")
    return folder


def _category(rule: str) -> str:
    for hint, category in _CATEGORY_HINTS:
        if hint in rule:
            return category
    return "other"


class YaraAnalyser:
    """Every GuardDog source-code YARA rule over each file's bytes."""

    name = "yara"

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder

    @cached_property
    def rules(self) -> Any:
        """Every rule file that compiles, in one rule set (one scan per file),
        each in its own namespace (the rule file's name)."""
        import yara

        folder = self.folder or guarddog_rules_dir()
        every = {path.stem: str(path) for path in sorted(folder.glob("*.yar"))}
        try:
            return yara.compile(filepaths=every)
        except yara.Error:
            pass  # find the rule files this yara cannot compile, and leave them out
        usable: dict[str, str] = {}
        for path in sorted(folder.glob("*.yar")):
            try:
                yara.compile(filepath=str(path))
            except yara.Error as exc:
                log.warning("skipping GuardDog rule %s: %s", path.name, exc)
                continue
            usable[path.stem] = str(path)
        return yara.compile(filepaths=usable)

    def analyse(self, files: Sequence[ScriptFile]) -> list[list[Finding]]:
        return [self._one(f) for f in files]

    def _one(self, script: ScriptFile) -> list[Finding]:
        data = script.text.encode("utf-8", "surrogateescape")
        return [
            _finding(match.namespace, match, script, data)
            for match in self.rules.match(data=data, timeout=10)
        ]


def _finding(rule_file: str, match: Any, script: ScriptFile, data: bytes) -> Finding:
    meta = dict(getattr(match, "meta", {}) or {})
    severity: Severity
    declared = str(meta.get("severity", "")).lower()
    if declared in SEVERITY_SCORE:
        severity = declared  # type: ignore[assignment]
    else:
        severity = "low" if rule_file.startswith("capability") else "high"
    offsets = [
        inst.offset for s in getattr(match, "strings", []) for inst in getattr(s, "instances", [])
    ]
    first = min(offsets) if offsets else 0
    last = max(offsets) if offsets else 0
    return Finding(
        analyser="yara",
        rule_id=f"guarddog/{rule_file}",
        severity=severity,
        language=script.language,
        file=script.name,
        line_start=data.count(b"\n", 0, first) + 1,
        line_end=data.count(b"\n", 0, last) + 1,
        message=str(meta.get("description") or match.rule),
        fix="Remove the behaviour GuardDog flags, or explain it in the listing for review.",
        category=_category(rule_file),
    )
