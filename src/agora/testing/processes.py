"""Child processes for tests that are always cleaned up, even when start-up fails.

``running`` starts a command in its own process group (session) so that
everything it forks (uvicorn workers, gunicorn under ``mlflow server``) is
stopped with it: SIGTERM to the group, then SIGKILL after a grace period.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path


def stop_group(proc: subprocess.Popen[bytes], *, grace_s: float = 30.0) -> int:
    """Stop ``proc`` and every process in its group; returns its exit status.

    SIGTERM first (a graceful shutdown), SIGKILL to whatever is left after
    ``grace_s``. Safe to call on a process that already exited.
    """
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace_s)
    # Children may outlive the leader (a worker finishing a request): kill the rest.
    _signal_group(proc, signal.SIGKILL)
    return proc.wait()


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with suppress(ProcessLookupError, PermissionError):  # the group is gone
        os.killpg(proc.pid, sig)


def tail(path: Path, chars: int = 3000) -> str:
    """The end of a log file, for failure messages ('' when it does not exist)."""
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


@contextmanager
def running(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    cwd: Path | None = None,
    grace_s: float = 30.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` in its own process group for the ``with`` block, then stop the group.

    stdout and stderr go to ``log`` (read it with ``tail`` in failure messages),
    or are discarded.

    Example:
        >>> with running(["sleep", "60"]) as proc:
        ...     proc.poll() is None
        True
        >>> proc.returncode == -signal.SIGTERM
        True
    """
    with ExitStack() as stack:
        out = stack.enter_context(log.open("ab")) if log is not None else subprocess.DEVNULL
        proc = subprocess.Popen(
            list(argv),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            stop_group(proc, grace_s=grace_s)
