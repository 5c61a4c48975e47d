"""Features of one script for the verdict model (after Amalfi, ICSE'22:
package features rather than rules alone).

Five groups, all computed from the text and the analysers' findings:

- rule hits: count and severity sum per analyser, count per severity, the
  severity sum per category (process, obfuscation, credentials, ...);
- text statistics: byte entropy, zlib compression ratio, line lengths,
  character classes;
- string statistics: literal count, longest literal, literal entropy, long
  base64/hex runs, escape sequences;
- imported and called APIs: counts of sensitive API names by family, across
  the five languages;
- network indicators: URL and IP counts; AST shape: node count, depth, share
  of calls and strings (Python ``ast``, tree-sitter for the others).

Example:
    >>> row = extract(ScriptFile("a.py", "python", "import os\\nos.system('ls')\\n"), [])
    >>> len(row) == len(feature_names())
    True
"""

from __future__ import annotations

import ast
import math
import re
import zlib
from collections import Counter
from collections.abc import Sequence
from functools import cache
from typing import Any

from agora.codereview.base import CATEGORIES, SEVERITY_SCORE, Finding, ScriptFile

ANALYSERS = ("semgrep", "bandit", "yara", "gdscript")
LANGUAGE_CODES = {
    "python": 0,
    "javascript": 1,
    "typescript": 1,
    "lua": 2,
    "csharp": 3,
    "gdscript": 4,
}
# Sensitive API names by family; matched as whole words, any language.
API_FAMILIES: dict[str, tuple[str, ...]] = {
    "api_process": (
        "system",
        "popen",
        "Popen",
        "subprocess",
        "spawn",
        "execSync",
        "execFile",
        "child_process",
        "ProcessStartInfo",
        "Process",
        "execute",
        "create_process",
        "shell_open",
        "startfile",
        "ShellExecute",
        "os.execute",
        "io.popen",
    ),
    "api_dynamic": (
        "eval",
        "exec",
        "compile",
        "loadstring",
        "Function",
        "dofile",
        "Assembly",
        "Load",
        "LoadFrom",
        "GDScript",
        "Expression",
        "runInThisContext",
        "importlib",
        "__import__",
        "getattr",
        "setattr",
        "globals",
        "getfenv",
        "setfenv",
    ),
    "api_encoding": (
        "base64",
        "b64decode",
        "b64encode",
        "atob",
        "btoa",
        "FromBase64String",
        "fromCharCode",
        "char",
        "decode",
        "unhexlify",
        "fromhex",
        "decompress",
        "marshal",
        "unescape",
        "rot13",
        "zlib",
        "reverse",
    ),
    "api_network": (
        "socket",
        "urlopen",
        "urlretrieve",
        "requests",
        "http",
        "https",
        "fetch",
        "XMLHttpRequest",
        "WebClient",
        "HttpClient",
        "UnityWebRequest",
        "HTTPRequest",
        "HttpGet",
        "GetAsync",
        "PostAsync",
        "WebSocket",
        "DownloadFile",
        "request",
        "dns",
        "connect",
        "send",
        "recv",
    ),
    "api_filesystem": (
        "open",
        "write",
        "writeFile",
        "writeFileSync",
        "File",
        "FileAccess",
        "DirAccess",
        "WriteAllText",
        "WriteAllBytes",
        "remove",
        "unlink",
        "rmtree",
        "chmod",
        "copy",
        "shutil",
        "appendFile",
    ),
    "api_environment": (
        "environ",
        "getenv",
        "env",
        "GetEnvironmentVariable",
        "GetEnvironmentVariables",
        "get_environment",
        "expanduser",
        "homedir",
        "USERPROFILE",
        "APPDATA",
        "HOME",
        "hostname",
        "platform",
        "userInfo",
        "getlogin",
        "uname",
    ),
    "api_host": (
        "Registry",
        "winreg",
        "crontab",
        "ctypes",
        "DllImport",
        "kernel32",
        "VirtualAlloc",
        "keyboard",
        "pynput",
        "clipboard",
        "ImageGrab",
        "screenshot",
    ),
}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_URL = re.compile(r"\b(?:https?|wss?|ftp)://[^\s\"'<>)]+", re.I)
_IP = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_STRING = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`")
_B64 = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")
_HEX = re.compile(r"\b(?:[0-9a-fA-F]{2}){24,}\b")
_ESCAPE = re.compile(r"\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\\d{2,3}")


def _entropy(data: bytes) -> float:
    if not data:
        return 0.0
    counts = Counter(data)
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


@cache
def feature_names() -> tuple[str, ...]:
    """The model's input columns, in order."""
    names: list[str] = []
    for a in ANALYSERS:
        names += [f"{a}.count", f"{a}.severity_sum", f"{a}.severity_max"]
    names += [f"severity.{s}" for s in SEVERITY_SCORE]
    names += [f"category.{c}" for c in CATEGORIES]
    names += [
        "text.log_bytes",
        "text.lines",
        "text.mean_line",
        "text.max_line",
        "text.entropy",
        "text.compression",
        "text.alpha",
        "text.digit",
        "text.space",
        "text.punct",
        "text.non_ascii",
        "strings.count",
        "strings.max_len",
        "strings.mean_len",
        "strings.max_entropy",
        "strings.mean_entropy",
        "strings.b64_runs",
        "strings.hex_runs",
        "strings.escapes",
        "strings.share",
    ]
    names += list(API_FAMILIES)
    names += ["net.urls", "net.http_urls", "net.ips", "net.distinct_hosts"]
    names += [
        "ast.parsed",
        "ast.nodes",
        "ast.depth",
        "ast.call_share",
        "ast.string_share",
        "ast.functions",
    ]
    names += ["language"]
    return tuple(names)


def _rule_features(findings: Sequence[Finding]) -> list[float]:
    row: list[float] = []
    for a in ANALYSERS:
        scores = [f.score for f in findings if f.analyser == a]
        row += [float(len(scores)), float(sum(scores)), float(max(scores, default=-1))]
    by_sev: Counter[str] = Counter(str(f.severity) for f in findings)
    row += [float(by_sev.get(s, 0)) for s in SEVERITY_SCORE]
    by_cat: Counter[str] = Counter()
    for f in findings:
        by_cat[f.category] += f.score + 1
    row += [float(by_cat.get(c, 0)) for c in CATEGORIES]
    return row


def _text_features(text: str) -> list[float]:
    data = text.encode("utf-8", "surrogateescape")
    lines = text.splitlines() or [""]
    n = max(len(text), 1)
    lengths = [len(line) for line in lines]
    return [
        math.log1p(len(data)),
        float(len(lines)),
        sum(lengths) / len(lengths),
        float(max(lengths)),
        _entropy(data),
        len(zlib.compress(data)) / max(len(data), 1),
        sum(c.isalpha() for c in text) / n,
        sum(c.isdigit() for c in text) / n,
        sum(c.isspace() for c in text) / n,
        sum(not c.isalnum() and not c.isspace() for c in text) / n,
        sum(ord(c) > 127 for c in text) / n,
    ]


def _string_features(text: str) -> list[float]:
    literals = [m.group(0)[1:-1] for m in _STRING.finditer(text)]
    lengths = [len(s) for s in literals] or [0]
    entropies = [_entropy(s.encode("utf-8", "surrogateescape")) for s in literals if s] or [0.0]
    return [
        float(len(literals)),
        float(max(lengths)),
        sum(lengths) / len(lengths),
        max(entropies),
        sum(entropies) / len(entropies),
        float(len(_B64.findall(text))),
        float(len(_HEX.findall(text))),
        float(len(_ESCAPE.findall(text))),
        sum(lengths) / max(len(text), 1),
    ]


def _api_features(text: str) -> list[float]:
    words = Counter(_WORD.findall(text))
    dotted = text
    row = []
    for family in API_FAMILIES.values():
        total = 0
        for name in family:
            total += dotted.count(name) if "." in name else words.get(name, 0)
        row.append(float(total))
    return row


def _net_features(text: str) -> list[float]:
    urls = _URL.findall(text)
    hosts = {re.sub(r"^[a-z]+://", "", u.lower()).split("/", 1)[0] for u in urls}
    return [
        float(len(urls)),
        float(sum(u.lower().startswith("http://") for u in urls)),
        float(len(_IP.findall(text))),
        float(len(hosts)),
    ]


@cache
def _ts_parser(language: str) -> Any:
    import importlib

    import tree_sitter

    module = {
        "lua": "tree_sitter_lua",
        "csharp": "tree_sitter_c_sharp",
        "gdscript": "tree_sitter_gdscript",
        "javascript": "tree_sitter_javascript",
        "typescript": "tree_sitter_javascript",
    }[language]
    return tree_sitter.Parser(tree_sitter.Language(importlib.import_module(module).language()))


def _ast_features(script: ScriptFile) -> list[float]:
    nodes = calls = strings = functions = 0
    depth = 0
    parsed = 1.0
    if script.language == "python":
        try:
            tree = ast.parse(script.text)
        except (SyntaxError, ValueError):
            return [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        stack: list[tuple[ast.AST, int]] = [(tree, 1)]
        while stack:
            node, d = stack.pop()
            nodes += 1
            depth = max(depth, d)
            calls += isinstance(node, ast.Call)
            strings += isinstance(node, ast.Constant) and isinstance(node.value, str | bytes)
            functions += isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            stack.extend((child, d + 1) for child in ast.iter_child_nodes(node))
    else:
        root = (
            _ts_parser(script.language)
            .parse(script.text.encode("utf-8", "surrogateescape"))
            .root_node
        )
        parsed = 0.5 if root.has_error else 1.0
        ts_stack: list[tuple[Any, int]] = [(root, 1)]
        while ts_stack:
            node, d = ts_stack.pop()
            if not node.is_named:
                continue
            nodes += 1
            depth = max(depth, d)
            kind = node.type
            calls += "call" in kind or kind == "invocation_expression"
            strings += "string" in kind and "fragment" not in kind and "content" not in kind
            functions += "function" in kind or "method_declaration" in kind or kind == "lambda"
            ts_stack.extend((child, d + 1) for child in node.children)
    total = max(nodes, 1)
    return [parsed, float(nodes), float(depth), calls / total, strings / total, float(functions)]


def extract(script: ScriptFile, findings: Sequence[Finding]) -> list[float]:
    """One feature row (``feature_names()`` order) for a script and its findings."""
    return [
        *_rule_features(findings),
        *_text_features(script.text),
        *_string_features(script.text),
        *_api_features(script.text),
        *_net_features(script.text),
        *_ast_features(script),
        float(LANGUAGE_CODES.get(script.language, -1)),
    ]
