"""The ModelStore contract on every backend: MLflow on a local SQLite file (the
embedded default), on PostgreSQL (the scaled-out registry) and through a real
``mlflow server`` over HTTP.

Stores are module-scoped (an MLflow database's first migration takes seconds);
each test works on its own model names, so the tests share a store safely.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from agora.config import Settings
from agora.domain import ModelRef
from agora.errors import NotFound
from agora.mlops import create_model_store
from agora.mlops.base import ModelStore
from agora.mlops.mlflow_store import MlflowModelStore

PG_ADMIN_URL = os.environ.get("AGORA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass
class Backend:
    store: ModelStore
    reopen: Callable[[], ModelStore]  # a second handle on the same registry (another process)


def _local(root: Path) -> Iterator[Backend]:
    settings = Settings.load(data_dir=root)
    store = create_model_store(settings)
    try:
        yield Backend(store, lambda: create_model_store(settings))
    finally:
        store.close()  # type: ignore[attr-defined]


def _postgresql(root: Path) -> Iterator[Backend]:
    import psycopg

    name = f"agora_mlflow_c_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        settings = Settings.load(
            data_dir=root,
            registry={
                "tracking_uri": f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}",
                "artifact_root": str(root / "art"),
            },
        )
        store = create_model_store(settings)
        try:
            yield Backend(store, lambda: create_model_store(settings))
        finally:
            store.close()  # type: ignore[attr-defined]
    finally:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def _mlflow_server(root: Path) -> Iterator[Backend]:
    from agora.testing.mlflow_server import mlflow_server

    with mlflow_server(PG_ADMIN_URL, root) as url:
        store = MlflowModelStore(url, str(root / "client-art"))
        try:
            yield Backend(store, lambda: MlflowModelStore(url, str(root / "client-art-2")))
        finally:
            store.close()


BACKENDS = {"local": _local, "postgresql": _postgresql, "mlflow-server": _mlflow_server}


@pytest.fixture(
    scope="module",
    params=[
        "local",
        pytest.param("postgresql", marks=pytest.mark.integration),
        pytest.param(
            "mlflow-server",
            # One server per run: its tests stay on one xdist worker.
            marks=[
                pytest.mark.integration,
                pytest.mark.process,
                pytest.mark.xdist_group("mlflow-server"),
            ],
        ),
    ],
)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    yield from BACKENDS[request.param](tmp_path_factory.mktemp(f"registry-{request.param}"))


@pytest.fixture
def name() -> str:
    """A model name no other test uses."""
    return f"m-{uuid.uuid4().hex[:10]}"


def test_versions_count_from_one_and_load_by_version_alias_and_latest(
    backend: Backend, name: str
) -> None:
    store = backend.store
    refs = [store.save(name, {"w": i, "a": np.arange(3) * i}) for i in (1, 2, 3)]
    assert refs == [ModelRef(name, "1"), ModelRef(name, "2"), ModelRef(name, "3")]
    assert store.load(name, version="1")["w"] == 1
    assert store.load(name)["w"] == 3  # latest
    np.testing.assert_array_equal(store.load(name, version="2")["a"], [0, 2, 4])
    store.set_alias(name, "champion", "2")
    assert store.load(name, alias="champion")["w"] == 2
    assert [v.ref.version for v in store.versions(name)] == ["1", "2", "3"]  # oldest first
    assert name in store.models()


def test_metadata_round_trips(backend: Backend, name: str) -> None:
    store = backend.store
    ref = store.save(
        name,
        [1, 2],
        params={"lr": 0.05, "layers": [8, 4], "kind": "x", "flag": True},
        metrics={"auc": 0.8, "ndcg@10": 0.71},
        data_snapshot="interactions@2026-11-20T00:00Z",
        features=[f"f{i}" for i in range(300)],
    )
    info = store.info(name, version=ref.version)
    assert info.ref == ref
    assert info.params == {"lr": 0.05, "layers": [8, 4], "kind": "x", "flag": True}
    assert info.metrics == {"auc": 0.8, "ndcg@10": 0.71}
    assert info.data_snapshot == "interactions@2026-11-20T00:00Z"
    assert info.features == [f"f{i}" for i in range(300)]
    assert info.aliases == [] and info.created_at and info.created_at > 1.7e9
    bare = store.info(name, version=store.save(name, [3]).version)
    assert bare.params == {} and bare.metrics == {} and bare.features == []
    assert bare.data_snapshot is None


def test_aliases_move_and_are_deleted(backend: Backend, name: str) -> None:
    store = backend.store
    for i in (1, 2):
        store.save(name, i)
    store.set_alias(name, "champion", "1")
    store.set_alias(name, "challenger", "2")
    assert store.aliases(name) == {"champion": "1", "challenger": "2"}
    store.set_alias(name, "champion", "2")  # an alias points at one version at a time
    assert store.aliases(name) == {"champion": "2", "challenger": "2"}
    assert sorted(store.info(name, version="2").aliases) == ["challenger", "champion"]
    assert store.info(name, version="1").aliases == []
    store.delete_alias(name, "challenger")
    assert store.aliases(name) == {"champion": "2"}
    with pytest.raises(NotFound):
        store.load(name, alias="challenger")


def test_unknown_names_versions_and_aliases_are_not_found(backend: Backend, name: str) -> None:
    store = backend.store
    store.save(name, [1])
    for call in (
        lambda: store.load(f"{name}-never"),
        lambda: store.load(name, version="99"),
        lambda: store.load(name, alias="ghost"),
        lambda: store.info(f"{name}-never"),
        lambda: store.versions(f"{name}-never"),
        lambda: store.set_alias(name, "champion", "42"),
        lambda: store.delete_alias(name, "ghost"),
        lambda: store.attachment(name, "1", "missing.npz"),
    ):
        with pytest.raises(NotFound):
            call()
    assert store.aliases(name) == {}


def test_attachments_travel_with_a_version(backend: Backend, name: str, tmp_path: Path) -> None:
    store = backend.store
    store.save(name, "v1")
    reference = tmp_path / "drift_reference.npz"
    reference.write_bytes(b"\x93NUMPY-bytes")
    store.attach(name, "1", reference)
    got = store.attachment(name, "1", "drift_reference.npz")
    assert got.read_bytes() == b"\x93NUMPY-bytes"
    store.save(name, "v2")
    with pytest.raises(NotFound):  # attached to version 1 only
        store.attachment(name, "2", "drift_reference.npz")


def test_a_second_handle_sees_the_same_registry(backend: Backend, name: str) -> None:
    backend.store.save(name, {"w": 7}, metrics={"auc": 0.9}, features=["a", "b"])
    backend.store.set_alias(name, "champion", "1")
    other = backend.reopen()
    try:
        assert other.load(name, alias="champion") == {"w": 7}
        assert other.info(name).features == ["a", "b"]
        other.save(name, {"w": 8})  # and its writes are seen by the first handle
        assert backend.store.load(name, version="2") == {"w": 8}
    finally:
        other.close()  # type: ignore[attr-defined]
