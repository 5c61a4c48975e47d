"""What every command shares: settings read once, the platform, error reporting.

The CLI is an entry point: it is the one place that reads the environment
(through ``Settings.load``); everything below receives the settings. The
settings and the platform are imported when a command asks for them, so the
help screens load neither.

Example:
    >>> with open_platform(CliState()) as platform:  # doctest: +SKIP
    ...     platform.keys.list()
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from agora.config import Settings
    from agora.runtime import Platform


@dataclass
class CliState:
    """Global options given before the command (``agora --data-dir X demo``).

    ``url`` (``--url`` / ``AGORA_URL``) sends the read commands (``search``,
    ``recommend show``, ``tagging tag``, ``moderation queue``, ``models``, ``keys``) to a
    running server through the SDK, with ``key`` (``--key`` / ``AGORA_KEY``).
    """

    data_dir: Path | None = None
    url: str | None = None
    key: str | None = None

    def settings(self) -> Settings:
        """Settings from flags > environment > ``agora.toml``; invalid ones exit 2
        with the message that names them (no traceback)."""
        from agora.config import Settings, SettingsError

        overrides: dict[str, Any] = {}
        if self.data_dir is not None:
            overrides["data_dir"] = self.data_dir
        try:
            return Settings.load(**overrides)
        except SettingsError as exc:
            fail(str(exc), code=2)


def state(ctx: typer.Context) -> CliState:
    """The ``CliState`` the main callback stored (a fresh one when run standalone)."""
    obj = ctx.find_root().obj
    return obj if isinstance(obj, CliState) else CliState()


def cli_actor() -> str:
    """Who the audit log names for CLI writes: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (minimal containers)
        return "cli"


def fail(message: str, code: int = 1) -> NoReturn:
    """Print an error on stderr and exit with ``code``."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@contextmanager
def open_platform(cli: CliState, settings: Settings | None = None) -> Iterator[Platform]:
    """Build the platform for one command; domain errors become a clean exit 1."""
    from agora.errors import AgoraError
    from agora.runtime import Platform

    settings = settings or cli.settings()
    try:
        platform = Platform.build(settings)
    except AgoraError as exc:
        fail(exc.detail)
    try:
        yield platform
    except AgoraError as exc:
        fail(exc.detail)
    finally:
        platform.close()
