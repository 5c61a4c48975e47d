"""Registry workflow against a real ``mlflow server`` process whose backend store
is the real PostgreSQL (the scaled-out registry), with the catalog on PostgreSQL too."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from agora.errors import Conflict
from agora.mlops.mlflow_store import MlflowModelStore
from agora.mlops.registry import ModelRegistry
from agora.storage import migrate
from agora.storage.database import Database
from agora.testing.net import free_port
from agora.testing.processes import running, tail
from agora.testing.wait import PROCESS_START_S, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.process]

PG_ADMIN_URL = os.environ.get("AGORA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``mlflow server`` on a fresh PostgreSQL database. The server's whole
    process group is stopped and the database dropped however start-up ends."""
    name = f"agora_mlflow_srv_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        backend = f"postgresql+psycopg://{PG_ADMIN_URL.split('://', 1)[1].rsplit('/', 1)[0]}/{name}"
        root = tmp_path_factory.mktemp("mlflow-server")
        log = root / "server.log"
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


def test_champion_challenger_history_and_rollback_on_mlflow_server(
    mlflow_server: str, pg_url: str, tmp_path: Path
) -> None:
    store = MlflowModelStore(mlflow_server, str(tmp_path / "client-art"))
    db = Database.open(pg_url)
    migrate.upgrade(db)
    try:
        reg = ModelRegistry(store, db)
        for i in (1, 2, 3):
            store.save("pctr", {"w": i}, metrics={"auc": 0.6 + i / 100})
        reg.promote("pctr", "1", actor="ana", reason="first")
        reg.promote("pctr", "2", actor="ana", reason="better", metrics={"auc": 0.62})
        reg.challenge("pctr", "3", actor="pipeline", reason="gate passed")
        assert store.aliases("pctr") == {"challenger": "3", "champion": "2"}
        reg.abort_canary("pctr", actor="canary", reason="error rate 9%")
        assert store.aliases("pctr") == {"champion": "2"}
        dep = reg.rollback("pctr", actor="ops", reason="CTR fell")
        assert dep.champion == "1" and store.aliases("pctr") == {"champion": "1"}
        assert store.load("pctr", alias="champion") == {"w": 1}
        with pytest.raises(Conflict):
            reg.rollback("pctr", actor="ops", reason="again")
        steps = [(h.action, h.version, h.actor) for h in reg.history("pctr")]
        assert steps == [
            ("promote", "1", "ana"),
            ("promote", "2", "ana"),
            ("challenger", "3", "pipeline"),
            ("abort_canary", "3", "canary"),
            ("rollback", "1", "ops"),
        ]
        assert reg.history("pctr")[1].metrics == {"auc": 0.62}
        # Attachments (drift references) travel through the server too.
        ref_file = tmp_path / "drift_reference.npz"
        ref_file.write_bytes(b"npz-bytes")
        store.attach("pctr", "2", ref_file)
        assert store.attachment("pctr", "2", "drift_reference.npz").read_bytes() == b"npz-bytes"
    finally:
        store.close()
        db.dispose()
