"""Automatic code review of uploaded scripts and plugins (issue 24).

Analysers (Semgrep with vendored rules, Bandit, GuardDog's YARA rules, GDScript
rules over tree-sitter) produce findings; a LightGBM verdict model over the
findings and the script's features gives a malicious probability and a
verdict (clean / suspicious / malicious).
"""

from agora.codereview.base import FileReview, Finding, Review, ScriptFile, Verdict
from agora.codereview.review import CodeReviewer, rules_verdict

__all__ = [
    "CodeReviewer",
    "FileReview",
    "Finding",
    "Review",
    "ScriptFile",
    "Verdict",
    "rules_verdict",
]
