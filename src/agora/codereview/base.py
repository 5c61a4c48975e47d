"""Result types of the code-review capability.

Every analyser (Semgrep, Bandit, GuardDog's YARA rules, the GDScript rules)
answers with ``Finding`` records: the rule that fired, its severity and
category, where it fired (file, line span) and what to do about it. The
verdict model turns a file's findings plus its features into a ``FileReview``;
a ``Review`` is the verdict over several files (an upload, an archive, a push).

Example:
    >>> f = Finding("semgrep", "py-exec-decoded", "critical", "python", "a.py", 3, 3,
    ...             "exec of decoded data", "do not execute decoded blobs", "obfuscation")
    >>> f.score
    4
    >>> worst_verdict(["clean", "suspicious"])
    'suspicious'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

Severity = Literal["info", "low", "medium", "high", "critical"]
Verdict = Literal["clean", "suspicious", "malicious"]
SEVERITY_SCORE: dict[str, int] = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
VERDICT_RANK: dict[str, int] = {"clean": 0, "suspicious": 1, "malicious": 2}
# Rule categories (the list); every rule carries one of them.
CATEGORIES = (
    "process",
    "dynamic-code",
    "download-exec",
    "obfuscation",
    "filesystem",
    "credentials",
    "persistence",
    "miner",
    "network",
    "exfiltration",
    "recon",
)


def worst_verdict(verdicts: Sequence[str]) -> Verdict:
    """The most severe verdict of a list (clean when empty)."""
    best: Verdict = "clean"
    for v in verdicts:
        if VERDICT_RANK[v] > VERDICT_RANK[best]:
            best = v  # type: ignore[assignment]
    return best


@dataclass(frozen=True)
class ScriptFile:
    """One script to review: its name (path inside the upload), language and text."""

    name: str
    language: str
    text: str


@dataclass(frozen=True)
class Finding:
    """One rule hit."""

    analyser: str
    rule_id: str
    severity: Severity
    language: str
    file: str
    line_start: int
    line_end: int
    message: str
    fix: str
    category: str = "other"

    @property
    def score(self) -> int:
        """0 (info) to 4 (critical)."""
        return SEVERITY_SCORE[self.severity]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Analyser(Protocol):
    """A batch analyser: one call for many files (Semgrep runs one process per batch)."""

    name: str

    def analyse(self, files: Sequence[ScriptFile]) -> list[list[Finding]]:
        """Findings of each file, in the order of ``files``."""
        ...


@dataclass(frozen=True)
class FileReview:
    """The verdict on one file, with the findings that drove it."""

    file: str
    language: str
    verdict: Verdict
    probability: float
    rules_verdict: Verdict
    findings: list[Finding] = field(default_factory=list)
    drivers: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "language": self.language,
            "verdict": self.verdict,
            "probability": round(self.probability, 4),
            "rules_verdict": self.rules_verdict,
            "drivers": list(self.drivers),
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class Review:
    """The verdict over several files: the worst file verdict."""

    model: str
    files: list[FileReview]
    skipped: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        return worst_verdict([f.verdict for f in self.files])

    @property
    def probability(self) -> float:
        return max((f.probability for f in self.files), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "verdict": self.verdict,
            "probability": round(self.probability, 4),
            "files": [f.to_dict() for f in self.files],
            "skipped": list(self.skipped),
        }
