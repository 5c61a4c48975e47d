"""Code review: findings and verdicts of uploaded scripts (``agora.codereview``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from agora.api.schemas.common import ResponseModel

CodeVerdict = Literal["clean", "suspicious", "malicious"]
Severity = Literal["info", "low", "medium", "high", "critical"]


class CodeFinding(ResponseModel):
    """One rule hit."""

    analyser: str = Field(description="semgrep, bandit, yara (GuardDog's rules) or gdscript.")
    rule_id: str
    severity: Severity
    language: str
    file: str = Field(description="The script's path in the upload (archive!member for members).")
    line_start: int
    line_end: int
    message: str
    fix: str = Field(description="What the creator can do about it.")
    category: str


class ScriptReview(ResponseModel):
    """The verdict on one script."""

    file: str
    language: str
    verdict: CodeVerdict
    probability: float = Field(ge=0, le=1, description="Malicious probability (verdict model).")
    rules_verdict: CodeVerdict = Field(description="What the rules alone would say.")
    drivers: list[str] = Field(description="Findings and features that drove the verdict.")
    findings: list[CodeFinding]


class CodeReviewResult(ResponseModel):
    """``POST /api/v1/code-review``: the verdict over every script of the upload."""

    model: str = Field(description="The verdict model (name@version) or `rules-only`.")
    verdict: CodeVerdict = Field(description="The worst script verdict.")
    probability: float = Field(ge=0, le=1)
    files: list[ScriptReview]
    skipped: list[str] = Field(description="Members left out (too large, not text).")
