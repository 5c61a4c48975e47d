"""Rules as data: contact diversion, off-platform payment and prohibited items.

Rules live in YAML files shipped in the package (``agora/moderation/rules``)
so trust-and-safety staff change them without touching code; an operator may
add a folder of their own (``moderation.extra_rules_dir``). Every rule has an
id, a category, a severity (``review`` holds the asset for a moderator,
``block`` is a clear violation), the normalised view it matches against, the
languages it applies to, and regular expressions, or instead of expressions
a named ``detector`` for what a pattern cannot decide alone (``phone_number``:
a digit run is a phone number only in a phone-like context, never a product
code; see :mod:`agora.moderation.phone`). The rule set's version is a hash
of its files, recorded with every verdict as ``moderation-rules@<hash>``.

Patterns are written for ordinary product text too: words have boundaries
(the app "vx" is a word of its own, never the end of "Ravx"), and words
with an everyday sense ("cracked" screen, "tether", the name "Dana", CSS
"line-height") count only in the context that makes them a violation
("cracked version", "pay via Dana", "LINE id: shop88"). ``benchmarks/moderation_product_text.py``
measures the share of legitimate product titles the rules hold.

Example:
    >>> rules = RuleSet.packaged()
    >>> [m.rule_id for m in rules.match("add my l1ne id: shop88", "en")]
    ['contact.messaging_handle', 'contact.invitation.en']
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from agora.errors import InvalidInput
from agora.moderation.normalize import NormalizedText, normalize
from agora.moderation.phone import find_phone_number

Severity = Literal["review", "block"]
View = Literal["folded", "letters", "digits"]
_VIEWS: tuple[View, ...] = ("folded", "letters", "digits")

# Named detectors a rule may use instead of patterns: the matched text or None.
DETECTORS: dict[str, Callable[[NormalizedText], str | None]] = {
    "phone_number": lambda norm: find_phone_number(norm.folded),
}


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
    detector: str | None = None

    def find(self, norm: NormalizedText) -> str | None:
        """The text this rule matches in ``norm`` (first hit), or None."""
        if self.detector is not None:
            return DETECTORS[self.detector](norm)
        view = getattr(norm, self.view)
        for pattern in self.patterns:
            found = pattern.search(view)
            if found:
                return found.group(0)
        return None

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
            detector = raw.get("detector")
            if detector is not None and detector not in DETECTORS:
                raise ValueError(f"unknown detector {detector!r}")
            if detector is None and not raw.get("patterns"):
                raise ValueError("a rule needs patterns or a detector")
            rules.append(
                Rule(
                    id=str(raw["id"]),
                    category=str(raw.get("category") or category),
                    severity=severity,
                    view=view,
                    languages=frozenset(raw.get("languages") or ["*"]),
                    patterns=tuple(re.compile(p) for p in raw.get("patterns") or []),
                    description=str(raw.get("description") or ""),
                    detector=detector,
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
            found = rule.find(norm)
            if found is not None:
                hits.append(RuleMatch(rule.id, rule.category, rule.severity, found))
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
