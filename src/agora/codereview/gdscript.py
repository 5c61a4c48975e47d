"""GDScript rules over the tree-sitter syntax tree (Semgrep has no GDScript).

Godot's risky APIs: ``OS.execute``/``OS.create_process`` (run programs),
``OS.shell_open`` (open a URL or file with the system handler), an
``HTTPRequest`` whose download is then loaded as code (a resource pack, a
``GDScript`` built from text), and ``FileAccess``/``DirAccess`` on paths
outside the project (``res://``) and the game's data folder (``user://``).
Paths are followed one step through the file's ``const``/``var`` values, so
``FileAccess.open(SAVE_PATH, ...)`` with ``const SAVE_PATH := "user://..."`` is
inside and ``OS.get_environment("HOME") + "/.ssh/id_rsa"`` is outside.

Example:
    >>> src = 'func f():\\n\\tOS.execute("cmd.exe", ["/c", "dir"])\\n'
    >>> [x.rule_id for x in GDScriptAnalyser().analyse([ScriptFile("a.gd", "gdscript", src)])[0]]
    ['gd-os-execute']
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from agora.codereview.base import Finding, ScriptFile, Severity

_EXECUTE = {"OS.execute", "OS.create_process", "OS.execute_with_pipe", "OS.create_instance"}
_FILE_APIS = {
    "FileAccess.open",
    "FileAccess.open_compressed",
    "FileAccess.open_encrypted",
    "FileAccess.open_encrypted_with_pass",
    "DirAccess.open",
    "DirAccess.make_dir_absolute",
    "DirAccess.make_dir_recursive_absolute",
    "DirAccess.remove_absolute",
    "DirAccess.rename_absolute",
    "DirAccess.copy_absolute",
}
_CODE_LOADERS = {"ProjectSettings.load_resource_pack", "GDScript.new"}
_SHELLS = re.compile(r'"(cmd(\.exe)?|powershell(\.exe)?|pwsh|/bin/(ba)?sh|bash|sh)"', re.I)
_RISKY_TARGET = re.compile(
    r'^"(http://|file://|ftp://|[a-z]+://\d{1,3}(\.\d{1,3}){3})|\.(exe|msi|bat|cmd|ps1|sh|scr|vbs)"$',
    re.I,
)
_ASSIGN = re.compile(r"^\s*(?:const|var)\s+(\w+)\s*(?::=|=|:\s*[\w\[\]]+\s*=)\s*(.+?)\s*$", re.M)
_SECRET_ENV = re.compile(r"(HOME|APPDATA|LOCALAPPDATA|USERPROFILE|TEMP)", re.I)


@dataclass(frozen=True)
class _Call:
    callee: str  # "OS.execute", "http.request", "load"
    args: str  # the argument list's text, without the parentheses
    line_start: int
    line_end: int


@cache
def _parser() -> Any:
    import tree_sitter
    import tree_sitter_gdscript

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_gdscript.language()))


def _text(node: Any) -> str:
    return bytes(node.text or b"").decode("utf-8", "replace")


def _calls(root: Any) -> Iterator[_Call]:
    """Every call with its dotted callee (``receiver.method`` for attribute calls)."""
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(reversed(node.children))
        if node.type not in ("call", "attribute_call"):
            continue
        args = next((c for c in node.children if c.type == "arguments"), None)
        head = _text(node)
        name = head.split("(", 1)[0].strip()
        if node.type == "attribute_call" and node.parent is not None:
            before = _text(node.parent)[: node.start_byte - node.parent.start_byte]
            receiver = before.rstrip().rstrip(".").strip()
            # A chain a.b.c(): keep the last receiver segment (the object's name).
            name = f"{receiver.rsplit('.', 1)[-1]}.{name}" if receiver else name
        text = _text(args)[1:-1] if args is not None else ""
        yield _Call(name.replace(" ", ""), text, node.start_point[0] + 1, node.end_point[0] + 1)


def _first_arg(args: str) -> str:
    depth = 0
    for i, ch in enumerate(args):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            return args[:i].strip()
    return args.strip()


def _place(expr: str, values: dict[str, str], depth: int = 0) -> str:
    """inside (res:// user://), outside (absolute, environment) or unknown."""
    expr = expr.strip()
    if (
        expr.startswith(('"res://', '"user://', "'res://", "'user://"))
        or "get_user_data_dir" in expr
    ):
        return "inside"
    if "get_environment" in expr or "get_system_dir" in expr or "get_executable_path" in expr:
        return "outside"
    if re.match(r'^["\'](/|~|[A-Za-z]:[/\\])', expr):
        return "outside"
    head = re.match(r"^(\w+)", expr)
    if head and head.group(1) in values and depth < 3:
        return _place(values[head.group(1)], values, depth + 1)
    return "unknown"


class GDScriptAnalyser:
    """The GDScript rules; other languages get no findings."""

    name = "gdscript"

    def analyse(self, files: Sequence[ScriptFile]) -> list[list[Finding]]:
        return [self._one(f) if f.language == "gdscript" else [] for f in files]

    def _one(self, script: ScriptFile) -> list[Finding]:
        root = _parser().parse(script.text.encode("utf-8", "surrogateescape")).root_node
        calls = list(_calls(root))
        values = {m.group(1): m.group(2) for m in _ASSIGN.finditer(script.text)}
        found: list[Finding] = []

        def hit(rule: str, sev: Severity, call: _Call, msg: str, fix: str, category: str) -> None:
            found.append(
                Finding(
                    "gdscript",
                    rule,
                    sev,
                    "gdscript",
                    script.name,
                    call.line_start,
                    call.line_end,
                    msg,
                    fix,
                    category,
                )
            )

        downloads = [c for c in calls if c.callee.endswith(".request") or "HTTPRequest" in c.callee]
        for call in calls:
            if call.callee in _EXECUTE:
                shell = bool(_SHELLS.search(call.args))
                hit(
                    "gd-os-execute",
                    "critical" if shell else "high",
                    call,
                    f"{call.callee} runs a program" + (" through a shell" if shell else ""),
                    "Godot assets should not start programs.",
                    "process",
                )
            elif call.callee == "OS.shell_open":
                self._shell_open(call, values, hit)
            elif call.callee in _CODE_LOADERS or call.callee.endswith("Expression.new"):
                if downloads:
                    hit(
                        "gd-download-and-load",
                        "critical",
                        call,
                        f"{call.callee} loads code in a script that downloads with HTTPRequest",
                        "Ship code and packs with the game; never load downloaded code.",
                        "download-exec",
                    )
                elif call.callee == "GDScript.new":
                    hit(
                        "gd-dynamic-script",
                        "high",
                        call,
                        "a GDScript is compiled from text at run time",
                        "Preload scripts from res://.",
                        "dynamic-code",
                    )
                else:
                    hit(
                        "gd-load-pack",
                        "low",
                        call,
                        f"{call.callee} loads a resource pack or expression",
                        "Load packs only from user:// mods the player installed.",
                        "dynamic-code",
                    )
            elif call.callee in _FILE_APIS:
                place = _place(_first_arg(call.args), values)
                if place != "inside":
                    outside = place == "outside"
                    hit(
                        "gd-file-outside-project",
                        "high" if outside else "low",
                        call,
                        f"{call.callee} on a path outside res:// and user://"
                        if outside
                        else f"{call.callee} on a path Agora cannot place",
                        "Keep file access inside res:// and user://.",
                        "filesystem",
                    )
            elif call.callee == "OS.get_environment":
                secret = bool(_SECRET_ENV.search(call.args))
                hit(
                    "gd-environment-read",
                    "medium" if secret else "low",
                    call,
                    "reads an environment variable",
                    "Games rarely need the user's environment.",
                    "credentials",
                )
        if (
            ".source_code" in script.text
            and downloads
            and not any(f.rule_id == "gd-download-and-load" for f in found)
        ):
            line = script.text[: script.text.index(".source_code")].count("\n") + 1
            hit(
                "gd-download-and-load",
                "critical",
                _Call("source_code", "", line, line),
                "downloaded text becomes a script's source code",
                "Never compile downloaded code.",
                "download-exec",
            )
        return found

    @staticmethod
    def _shell_open(call: _Call, values: dict[str, str], hit: Any) -> None:
        target = _first_arg(call.args)
        head = re.match(r"^(\w+)$", target)
        if head and head.group(1) in values:
            target = values[head.group(1)]
        if _RISKY_TARGET.search(target.strip()):
            hit(
                "gd-shell-open-risky",
                "high",
                call,
                "OS.shell_open on a plain-HTTP, file or executable target",
                "Open only https:// pages (store, community).",
                "download-exec",
            )
        elif not target.strip().startswith(('"https://', "'https://")):
            hit(
                "gd-shell-open",
                "low",
                call,
                "OS.shell_open on a computed target",
                "Open only fixed https:// pages.",
                "process",
            )
