"""The command-line reference, generated from the ``agora`` Typer app.

Every command and group becomes a section holding exactly what
``agora ... --help`` prints, so the page cannot drift from the command.

Example:
    >>> import typer
    >>> demo = typer.Typer()
    >>> @demo.command()
    ... def hello(name: str) -> None:
    ...     '''Say hello.'''
    >>> page = render_cli(demo, "demo")
    >>> "Say hello." in page and "name" in page
    True
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import typer
from typer.testing import CliRunner

from agora_docs.markdown import anchor, cell, table

INTRO = """\
# Command-line reference

Generated from the `agora` command (its Typer app) when this site is built:
each block below is what `agora ... --help` prints. Global options
(`--data-dir`) go before the command: `agora --data-dir /srv/agora serve`.
Settings not given as flags come from `AGORA_*` environment variables and
`agora.toml` (see the [settings reference](settings.md)).
"""
# A fixed, colourless terminal so the text does not depend on who builds the site.
_ENV = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}


def _subcommands(command: Any) -> list[tuple[str, Any]]:
    commands: dict[str, Any] = getattr(command, "commands", None) or {}
    # A lazy group (agora.cli.lazy) holds help-only placeholders until a command is loaded.
    load = getattr(command, "load", None)
    found = [(name, load(name) if load else sub) for name, sub in list(commands.items())]
    return [(name, sub) for name, sub in found if not getattr(sub, "hidden", False)]


def _walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in _subcommands(command):
        yield from _walk(sub, (*path, name))


def _first_line(command: Any) -> str:
    text = inspect.cleandoc(getattr(command, "help", None) or "")
    return text.split("\n\n")[0].replace("\n", " ")


def _help_text(app: typer.Typer, path: tuple[str, ...], name: str) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env=_ENV, prog_name=name)
    if result.exit_code != 0:
        raise RuntimeError(f"`{name} {' '.join(path)} --help` failed:\n{result.output}")
    lines = [line.rstrip() for line in result.output.splitlines()]
    return "\n".join(lines).strip("\n")


def _section(app: typer.Typer, path: tuple[str, ...], command: Any, name: str) -> str:
    full = " ".join((name, *path))
    level = "#" * min(2 + len(path), 4)
    out = [f"{level} `{full}` {{#{anchor('cli', full)}}}\n"]
    out.append(f"```text\n{_help_text(app, path, name)}\n```\n")
    subs = _subcommands(command)
    if subs:
        rows = [
            [f"[`{full} {sub}`](#{anchor('cli', f'{full} {sub}')})", cell(_first_line(c))]
            for sub, c in subs
        ]
        out.append(table(["command", "what it does"], rows))
    return "\n".join(out)


def render_cli(app: typer.Typer, name: str = "agora") -> str:
    """The whole command-line reference page for ``app`` invoked as ``name``."""
    root = typer.main.get_command(app)
    return "\n".join([INTRO, *(_section(app, p, c, name) for p, c in _walk(root))])
