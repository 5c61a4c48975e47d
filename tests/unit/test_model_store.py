"""MlflowModelStore on MLflow's embedded SQLite backend with local artifacts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from agora.config import Settings
from agora.domain import ModelRef
from agora.errors import InvalidInput, NotFound
from agora.mlops import create_model_store
from agora.mlops.mlflow_store import MlflowModelStore


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("registry")


@pytest.fixture(scope="module")
def store(root: Path) -> Iterator[MlflowModelStore]:
    # One fresh MLflow database per module: its first migration takes seconds.
    settings = Settings.load(data_dir=root)
    created = create_model_store(settings)
    assert isinstance(created, MlflowModelStore)
    yield created
    created.close()


class Centroid:
    """A tiny real model: nearest class centroid."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> Centroid:
        self.centroids_ = {c: x[y == c].mean(axis=0) for c in np.unique(y)}
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        keys = sorted(self.centroids_)
        dist = np.stack([np.linalg.norm(x - self.centroids_[k], axis=1) for k in keys])
        return np.array(keys)[dist.argmin(axis=0)]


def _fitted(shift: float) -> Centroid:
    x = np.array([[0.0, 0.0], [0.1, 0.0], [1.0, 1.0], [1.1, 1.0]]) + shift
    return Centroid().fit(x, np.array([0, 0, 1, 1]))


def test_save_and_load_by_version_alias_and_latest(store: MlflowModelStore, root: Path) -> None:
    v1 = store.save(
        "centroid",
        _fitted(0.0),
        params={"shift": 0.0, "k": 2},
        metrics={"acc": 0.9},
        data_snapshot="events@2026-11-01",
        features=["x0", "x1"],
    )
    v2 = store.save("centroid", _fitted(5.0), params={"shift": 5.0}, metrics={"acc": 0.95})
    assert v1 == ModelRef("centroid", "1") and v2 == ModelRef("centroid", "2")
    probe = np.array([[5.05, 5.0], [6.0, 6.0]])
    assert store.load("centroid", version="2").predict(probe).tolist() == [0, 1]
    assert store.load("centroid").centroids_[1].tolist() == [6.05, 6.0]  # latest = 2
    store.set_alias("centroid", "champion", "1")
    champion = store.load("centroid", alias="champion")
    assert champion.centroids_[0].tolist() == [0.05, 0.0]
    assert store.load("centroid", version="1") is champion  # cached by (name, version)
    store.set_alias("centroid", "champion", "2")  # aliases move
    assert store.resolve("centroid", alias="champion") == v2
    assert store.aliases("centroid") == {"champion": "2"}
    # Artifacts live under the configured root, in the experiment MLflow was told about.
    assert any((root / "mlartifacts").rglob("model.pkl"))
    assert (root / "mlflow.db").is_file()


def test_metadata_round_trip(store: MlflowModelStore) -> None:
    ref = store.save(
        "meta-model",
        {"weights": [1, 2]},
        params={"lr": 0.05, "layers": [8, 4], "name": "x", "flag": True},
        metrics={"ndcg@10": 0.71, "auc": np.float64(0.8)},
        data_snapshot="interactions@2026-11-20T00:00Z",
        features=[f"f{i}" for i in range(600)],
    )
    store.set_alias("meta-model", "challenger", ref.version)
    info = store.info("meta-model", version=ref.version)
    assert info.ref == ref
    assert info.params == {"lr": 0.05, "layers": [8, 4], "name": "x", "flag": True}
    assert info.metrics == {"ndcg@10": 0.71, "auc": 0.8}
    assert info.data_snapshot == "interactions@2026-11-20T00:00Z"
    assert info.features == [f"f{i}" for i in range(600)]
    assert info.aliases == ["challenger"]
    assert info.run_id and info.created_at and info.created_at > 1.7e9
    run = store.client.get_run(info.run_id)
    assert run.data.metrics["ndcg_at_10"] == 0.71 and run.data.params["lr"] == "0.05"
    assert run.data.tags["agora.data_snapshot"] == "interactions@2026-11-20T00:00Z"
    assert run.info.status == "FINISHED"
    assert [(v.ref.version, v.aliases) for v in store.versions("meta-model")] == [
        (ref.version, ["challenger"])
    ]
    assert store.info("meta-model").aliases == ["challenger"]  # latest
    assert "meta-model" in store.models()
    # A second store on the same registry (another process) reads the same metadata.
    other = MlflowModelStore(store.tracking_uri, store.artifact_root)
    assert other.info("meta-model", alias="challenger").features == info.features
    assert other.load("meta-model") == {"weights": [1, 2]}


def test_save_path_for_file_and_folder_models(store: MlflowModelStore, tmp_path: Path) -> None:
    onnx = tmp_path / "head.onnx"
    onnx.write_bytes(b"\x08\x07onnx-bytes")
    ref = store.save_path("head", onnx, metrics={"acc": 0.5})
    loaded = store.load_path("head", version=ref.version)
    assert loaded.name == "head.onnx" and loaded.read_bytes() == onnx.read_bytes()
    assert store.load("head") == loaded
    folder = tmp_path / "lgbm"
    folder.mkdir()
    (folder / "model.txt").write_text("tree\nversion=v4\n")
    (folder / "vocab.json").write_text("{}")
    ref2 = store.save_path("head", folder)
    got = store.load_path("head", version=ref2.version)
    assert sorted(p.name for p in got.iterdir()) == ["model.txt", "vocab.json"]
    assert (got / "model.txt").read_text() == "tree\nversion=v4\n"


def test_unknown_names_versions_and_aliases_are_not_found(store: MlflowModelStore) -> None:
    store.save("known", [1])
    with pytest.raises(NotFound):
        store.load("never-saved")
    with pytest.raises(NotFound):
        store.load("known", version="99")
    with pytest.raises(NotFound):
        store.load("known", version="abc")
    with pytest.raises(NotFound):
        store.load("known", alias="ghost")
    with pytest.raises(NotFound):
        store.info("never-saved")
    with pytest.raises(NotFound):
        store.versions("never-saved")
    with pytest.raises(NotFound):
        store.set_alias("known", "champion", "42")
    with pytest.raises(NotFound):
        store.delete_alias("known", "ghost")
    store.set_alias("known", "champion", "1")
    store.delete_alias("known", "champion")
    with pytest.raises(NotFound):
        store.load("known", alias="champion")


def test_bad_input_is_refused(store: MlflowModelStore, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        store.save("bad name!", [1])
    with pytest.raises(InvalidInput):
        store.save("ok", [1], metrics={"acc": "high"})
    with pytest.raises(InvalidInput):
        store.save("ok", [1], metrics={"acc": float("nan")})
    with pytest.raises(InvalidInput):
        store.save_path("ok", tmp_path / "missing.onnx")
    with pytest.raises(InvalidInput):
        store.load("known", version="1", alias="champion")
    assert "ok" not in store.models()
