"""MlflowModelStore with PostgreSQL as MLflow's backend store (the scaled-out registry)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator

import pytest

from agora.config import Settings
from agora.domain import ModelRef
from agora.errors import NotFound
from agora.mlops import create_model_store
from agora.mlops.mlflow_store import MlflowModelStore

pytestmark = pytest.mark.integration

PG_ADMIN_URL = os.environ.get("AGORA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="module")
def registry_url() -> Iterator[str]:
    """One fresh PostgreSQL database for the module: MLflow's migration takes seconds."""
    import psycopg

    name = f"agora_mlflow_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        # The plain postgresql:// form operators write; the store picks psycopg 3.
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture(scope="module")
def store(
    registry_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MlflowModelStore]:
    root = tmp_path_factory.mktemp("pg-registry")
    settings = Settings.load(
        data_dir=root, registry={"tracking_uri": registry_url, "artifact_root": str(root / "art")}
    )
    created = create_model_store(settings)
    assert isinstance(created, MlflowModelStore)
    assert created.tracking_uri.startswith("postgresql+psycopg://")
    yield created
    created.close()


def test_save_load_alias_and_metadata_on_postgresql(store: MlflowModelStore) -> None:
    v1 = store.save(
        "ranker",
        {"w": [0.1, 0.2]},
        params={"depth": 6},
        metrics={"ndcg@10": 0.7},
        data_snapshot="events@2026-11-01",
        features=["ctr", "age"],
    )
    v2 = store.save("ranker", {"w": [0.3, 0.4]}, metrics={"ndcg@10": 0.74})
    assert (v1, v2) == (ModelRef("ranker", "1"), ModelRef("ranker", "2"))
    store.set_alias("ranker", "champion", "1")
    assert store.load("ranker", alias="champion") == {"w": [0.1, 0.2]}
    assert store.load("ranker") == {"w": [0.3, 0.4]}
    info = store.info("ranker", version="1")
    assert info.params == {"depth": 6} and info.metrics == {"ndcg@10": 0.7}
    assert info.features == ["ctr", "age"] and info.aliases == ["champion"]
    assert [v.ref.version for v in store.versions("ranker")] == ["1", "2"]
    assert "ranker" in store.models()
    # Artifacts stay on the local artifact root; only metadata lives in PostgreSQL.
    path = store.load_path("ranker", version="1")
    assert path.is_file() and path.name == "model.pkl"
    with pytest.raises(NotFound):
        store.load("ranker", version="3")
    with pytest.raises(NotFound):
        store.load("ranker", alias="challenger")
    with pytest.raises(NotFound):
        store.load("no-such-model")


def test_concurrent_saves_get_distinct_versions(store: MlflowModelStore) -> None:
    refs: list[ModelRef] = []
    errors: list[BaseException] = []

    def save(i: int) -> None:
        try:
            # A store per thread, like separate worker processes sharing the registry.
            mine = MlflowModelStore(store.tracking_uri, store.artifact_root)
            refs.append(mine.save("shared", {"i": i}))
        except BaseException as exc:  # noqa: BLE001 - the main thread asserts on it
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(int(r.version) for r in refs) == [1, 2, 3, 4]
    assert sorted(store.load("shared", version=str(v))["i"] for v in range(1, 5)) == [0, 1, 2, 3]
