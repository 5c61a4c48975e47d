"""Registry workflow against a real ``mlflow server`` process whose backend store
is the real PostgreSQL (the scaled-out registry), with the catalog on PostgreSQL too."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from agora.errors import Conflict
from agora.mlops.mlflow_store import MlflowModelStore
from agora.mlops.registry import ModelRegistry
from agora.storage import migrate
from agora.storage.database import Database
from agora.testing.mlflow_server import mlflow_server as run_mlflow_server

pytestmark = [pytest.mark.integration, pytest.mark.process]

PG_ADMIN_URL = os.environ.get("AGORA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_mlflow_server(PG_ADMIN_URL, tmp_path_factory.mktemp("mlflow-server")) as url:
        yield url


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
