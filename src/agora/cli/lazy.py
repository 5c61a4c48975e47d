"""A Typer group whose commands are imported only when they run.

``agora --help`` must answer in well under a second, and importing every
command module pulls in the platform (SQLAlchemy, the bus, MLflow, the
indexes). ``LazyGroup`` lists its commands from a table of
``LazyCommand(name, "module:attribute", help)`` rows: the help screen shows
the ``help`` text of the table, and a command's module is imported only when
that command (or its own ``--help``) is resolved. The attribute is either a
function (a single command) or a ``typer.Typer`` (a command group).

Example:
    >>> group = LazyGroup.with_commands((LazyCommand("keys", "agora.cli.keys:app", "Keys."),))
    >>> group.__name__
    'LazyGroup'
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    """One row of the command table: where the command lives and its one-line help."""

    name: str
    target: str  # "package.module:attribute"
    help: str

    def load(self) -> Any:
        """Import the module and build the click command (a group for a ``typer.Typer``)."""
        module_name, _, attribute = self.target.partition(":")
        obj = getattr(importlib.import_module(module_name), attribute)
        command: Any
        if isinstance(obj, typer.Typer):
            # get_group, not get_command: a one-command Typer must stay a group.
            command = typer.main.get_group(obj)
        else:
            single = typer.Typer()
            single.command(self.name)(obj)
            command = typer.main.get_command(single)
        command.name = self.name
        return command


class LazyGroup(TyperGroup):
    """A ``TyperGroup`` over ``LazyCommand`` rows (set by ``with_commands``)."""

    lazy_commands: ClassVar[tuple[LazyCommand, ...]] = ()

    @classmethod
    def with_commands(cls, commands: tuple[LazyCommand, ...]) -> type[LazyGroup]:
        """A subclass listing ``commands`` (Typer instantiates the class itself)."""
        return type(cls.__name__, (cls,), {"lazy_commands": commands})

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._lazy = {row.name: row for row in self.lazy_commands}
        for row in self.lazy_commands:
            # A placeholder that only carries the help line: the help screen and
            # typo suggestions need nothing else.
            self.commands[row.name] = TyperCommand(row.name, help=row.help, short_help=row.help)

    def load(self, name: str) -> Any:
        """The real click command ``name`` (imported on first use), or None if there is none."""
        row = self._lazy.pop(name, None)
        if row is not None:
            self.commands[name] = row.load()
        return self.commands.get(name)

    # Typer >= 0.20 vendors click (typer._click): the types stay unnamed here.
    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        if name is not None:
            command = self.load(name)
        return name, command, rest
