"""A real ``mlflow server`` for tests, on a fresh PostgreSQL database.

The server's whole process group is stopped and its database dropped however
start-up ends (a start-up timeout used to leak the database).
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agora.testing.net import free_port
from agora.testing.processes import running, tail
from agora.testing.wait import PROCESS_START_S, wait_until


@contextmanager
def mlflow_server(pg_admin_url: str, root: Path) -> Iterator[str]:
    """Run ``mlflow server`` (backend store: a new database on ``pg_admin_url``'s
    server, artifacts under ``root``) and yield its URL.

    Example:
        >>> with mlflow_server(PG_ADMIN_URL, tmp) as url:  # doctest: +SKIP
        ...     store = MlflowModelStore(url, str(tmp / "client-art"))
    """
    import httpx
    import psycopg

    name = f"agora_mlflow_srv_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(pg_admin_url, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        server = pg_admin_url.split("://", 1)[1].rsplit("/", 1)[0]
        backend = f"postgresql+psycopg://{server}/{name}"
        log = root / "mlflow-server.log"
        port = free_port()
        mlflow = Path(sys.executable).with_name("mlflow")
        argv = [str(mlflow), "server", "--backend-store-uri", backend, "--host", "127.0.0.1",
                "--port", str(port), "--workers", "1", "--artifacts-destination",
                str(root / "art")]  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        with running(argv, log=log, cwd=root) as proc:
            wait_until(
                lambda: httpx.get(f"{url}/health", timeout=10).status_code == 200,
                # Start-up migrates the backend store: tens of seconds on a busy machine.
                timeout_s=PROCESS_START_S,
                what=f"mlflow server on {url}",
                interval_s=0.5,
                alive=lambda: None if proc.poll() is None else f"exited:\n{tail(log)}",
                ignore=(httpx.HTTPError,),
            )
            yield url
    finally:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()
