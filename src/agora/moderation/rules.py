"""Rules as data: contact diversion, off-platform payment and prohibited items.

Rules live in YAML files shipped in the package (``agora/moderation/rules``)
so trust-and-safety staff change them without touching code; an operator may
add a folder of their own (``moderation.extra_rules_dir``). Every rule has an
id, a category, a severity (``review`` holds the asset for a moderator,
``block`` is a clear violation), the normalised view it matches against, the
languages it applies to, and regular expressions. The rule set's version is a
hash of its files, recorded with every verdict as ``moderation-rules@<hash>``.

Example:
    >>> rules = RuleSet.packaged()
    >>> [m.rule_id for m in rules.match("add my l1ne id: shop88", "en")]
    ['contact.messaging_handle', 'contact.invitation.en']
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from agora.errors import InvalidInput
from agora.moderation.normalize import NormalizedText, normalize

Severity = Literal["review", "block"]
View = Literal["folded", "letters", "digits"]
_VIEWS: tuple[View, ...] = ("folded", "letters", "digits")


@dataclass(frozen=True)
class Rule:
    """One rule: any of its patterns matching its view of the text is a hit."""

    id: str
    category: str
    severity: Severity
    view: View
    languages: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]
    description: str = ""

    def applies_to(self, language: str | None) -> bool:
        return "*" in self.languages or language is None or language in self.languages


@dataclass(frozen=True)
class RuleMatch:
    """A rule hit with the matched text (from the normalised view)."""

    rule_id: str
    category: str
    severity: Severity
    matched: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "category": self.category,
            "severity": self.severity,
            "matched": self.matched,
        }


def _parse(doc: Any, source: str) -> list[Rule]:
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise InvalidInput(f"{source}: a rules file needs a top-level 'rules' list")
    category = str(doc.get("category") or "")
    rules: list[Rule] = []
    for raw in doc["rules"]:
        try:
            severity = raw.get("severity", "review")
            view = raw.get("view", "letters")
            if severity not in ("review", "block") or view not in _VIEWS:
                raise ValueError(f"bad severity {severity!r} or view {view!r}")
            rules.append(
                Rule(
                    id=str(raw["id"]),
                    category=str(raw.get("category") or category),
                    severity=severity,
                    view=view,
                    languages=frozenset(raw.get("languages") or ["*"]),
                    patterns=tuple(re.compile(p) for p in raw["patterns"]),
                    description=str(raw.get("description") or ""),
                )
            )
        except (KeyError, TypeError, ValueError, re.error) as exc:
            raise InvalidInput(f"{source}: rule {raw!r:.80} is invalid: {exc}") from None
    return rules


class RuleSet:
    """A versioned list of rules, matched against the normalised views of a text."""

    def __init__(self, rules: list[Rule], version: str) -> None:
        self.rules = rules
        self.version = version

    @property
    def model(self) -> str:
        return f"moderation-rules@{self.version}"

    @classmethod
    def from_texts(cls, texts: dict[str, str]) -> RuleSet:
        """Build from ``{source name: YAML text}``; the version hashes all of them."""
        digest = hashlib.sha256()
        rules: list[Rule] = []
        for name in sorted(texts):
            digest.update(name.encode() + b"\0" + texts[name].encode())
            rules += _parse(yaml.safe_load(texts[name]), name)
        ids = [r.id for r in rules]
        if len(ids) != len(set(ids)):
            raise InvalidInput("rule ids must be unique")
        return cls(rules, digest.hexdigest()[:12])

    @classmethod
    def packaged(cls, extra_dir: str | Path | None = None) -> RuleSet:
        """The rules shipped in the package plus ``*.yaml`` from ``extra_dir``."""
        return _load(str(extra_dir) if extra_dir else "")

    def match(self, text: str | NormalizedText, language: str | None = None) -> list[RuleMatch]:
        """Every rule that hits (first hit per rule), block severities first."""
        norm = text if isinstance(text, NormalizedText) else normalize(text)
        hits: list[RuleMatch] = []
        for rule in self.rules:
            if not rule.applies_to(language):
                continue
            view = getattr(norm, rule.view)
            for pattern in rule.patterns:
                found = pattern.search(view)
                if found:
                    hits.append(RuleMatch(rule.id, rule.category, rule.severity, found.group(0)))
                    break
        return sorted(hits, key=lambda m: m.severity != "block")


@cache
def _load(extra_dir: str) -> RuleSet:
    texts = {
        f"agora:{entry.name}": entry.read_text(encoding="utf-8")
        for entry in resources.files("agora.moderation").joinpath("rules").iterdir()
        if entry.name.endswith(".yaml")
    }
    if extra_dir:
        for path in sorted(Path(extra_dir).glob("*.yaml")):
            texts[str(path)] = path.read_text(encoding="utf-8")
    return RuleSet.from_texts(texts)
