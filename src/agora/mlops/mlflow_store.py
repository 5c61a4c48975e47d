"""ModelStore on MLflow's model registry (SQLite or PostgreSQL backend, local artifacts).

Each save is one MLflow run in the ``agora-models`` experiment: params and
metrics are logged for the MLflow UI, ``agora.data_snapshot`` and
``agora.features`` are run tags, and the run's ``model/`` artifact folder holds
the model plus ``metadata.json`` (the exact, typed params/metrics/features the
store reads back). A registered model version points at that folder; aliases
(``champion``, ``challenger``) are MLflow registry aliases.

Everything goes through one explicit ``MlflowClient``: no global MLflow state
and no environment variables, so two stores in one process never interfere.
Pickled models are only ever loaded from this registry, which the operator
controls; never point a store at an untrusted registry.

Example:
    >>> store = MlflowModelStore("sqlite:///data/mlflow.db", "data/mlartifacts")  # doctest: +SKIP
    >>> ref = store.save("spam-clf", clf, params={"C": 1.0}, metrics={"f1": 0.96},
    ...                  data_snapshot="events@2026-11-01", features=["tfidf"])  # doctest: +SKIP
    >>> store.set_alias("spam-clf", "champion", ref.version)  # doctest: +SKIP
    >>> store.load("spam-clf", alias="champion")  # doctest: +SKIP
    >>> onnx_ref = store.save_path("clip-head", Path("head.onnx"))  # doctest: +SKIP
    >>> store.load_path("clip-head")  # doctest: +SKIP
    PosixPath('.../model/files/head.onnx')
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cloudpickle
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from agora.domain import ModelRef
from agora.errors import InvalidInput, NotFound
from agora.mlops.base import ModelStore, ModelVersionInfo
from agora.mlops.mlflow_names import (
    artifact_location,
    check_name,
    local_path,
    mlflow_db_uri,
    mlflow_errors,
    mlflow_key,
)

# MLflow configures its loggers at import; keep its INFO chatter (migration
# notices, run URLs) out of the platform's logs.
logging.getLogger("mlflow").setLevel(logging.WARNING)

EXPERIMENT = "agora-models"
MODEL_DIR = "model"
ATTACHMENTS = "attachments"
_TAG_LIMIT = 8000  # MLflow's run tag value limit
_PARAM_LIMIT = 6000  # MLflow's param value limit


class MlflowModelStore(ModelStore):
    """ModelStore backed by an MLflow tracking store and model registry."""

    def __init__(
        self, tracking_uri: str, artifact_root: str, *, registry_uri: str | None = None
    ) -> None:
        self.tracking_uri = mlflow_db_uri(tracking_uri)
        self.registry_uri = mlflow_db_uri(registry_uri or tracking_uri)
        self.artifact_root = artifact_location(artifact_root)
        self.client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)
        self._experiment_id: str | None = None
        self._lock = threading.RLock()
        # Versions are immutable, so loaded objects and metadata are cached by (name, version).
        self._objects: dict[tuple[str, str], Any] = {}
        self._meta: dict[tuple[str, str], dict[str, Any]] = {}
        self._download_dir: Path | None = None

    @property
    def _downloads(self) -> Path:
        # Only remote (e.g. S3) artifacts are downloaded; local ones are read in place.
        if self._download_dir is None:
            self._download_dir = Path(tempfile.mkdtemp(prefix="agora-models-"))
        return self._download_dir

    # -- saving ------------------------------------------------------------------

    def save(
        self,
        name: str,
        model: Any,
        *,
        params: dict[str, Any] | None = None,
        metrics: dict[str, float] | None = None,
        data_snapshot: str | None = None,
        features: list[str] | None = None,
    ) -> ModelRef:
        """Pickle ``model`` (cloudpickle) into a new version of ``name``."""

        def write(folder: Path) -> dict[str, Any]:
            with open(folder / "model.pkl", "wb") as fh:
                cloudpickle.dump(model, fh)
            return {"format": "pickle", "file": "model.pkl"}

        return self._save(name, write, params, metrics, data_snapshot, features)

    def save_path(
        self,
        name: str,
        path: str | Path,
        *,
        params: dict[str, Any] | None = None,
        metrics: dict[str, float] | None = None,
        data_snapshot: str | None = None,
        features: list[str] | None = None,
    ) -> ModelRef:
        """Store a model file or folder as-is (ONNX, LightGBM text, tokenizer dirs).

        ``load_path`` (and ``load``) give back a local path to the same file or folder.
        """
        src = Path(path)
        if not src.exists():
            raise InvalidInput(f"model path {str(src)!r} does not exist")

        def write(folder: Path) -> dict[str, Any]:
            target = folder / "files" / src.name
            target.parent.mkdir()
            if src.is_dir():
                shutil.copytree(src, target)
            else:
                shutil.copy2(src, target)
            return {"format": "path", "file": f"files/{src.name}"}

        return self._save(name, write, params, metrics, data_snapshot, features)

    def _save(
        self,
        name: str,
        write: Callable[[Path], dict[str, Any]],
        params: dict[str, Any] | None,
        metrics: dict[str, float] | None,
        data_snapshot: str | None,
        features: list[str] | None,
    ) -> ModelRef:
        check_name(name)
        params, features = dict(params or {}), [str(f) for f in features or []]
        metrics = self._check_metrics(metrics or {})
        meta = {
            "params": params,
            "metrics": metrics,
            "data_snapshot": data_snapshot,
            "features": features,
        }
        try:
            json.dumps(params, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"model params must be JSON values: {exc}") from exc
        with mlflow_errors(f"saving model {name!r}"):
            run = self.client.create_run(
                self._experiment(), run_name=name, tags={"agora.model": name}
            )
            run_id = run.info.run_id
            try:
                self._log_run(run_id, meta)
                with tempfile.TemporaryDirectory(prefix="agora-save-") as tmp:
                    folder = Path(tmp) / MODEL_DIR
                    folder.mkdir()
                    meta |= write(folder)
                    (folder / "metadata.json").write_text(json.dumps(meta, sort_keys=True))
                    self.client.log_artifacts(run_id, str(folder), MODEL_DIR)
                self._ensure_registered(name)
                version = self.client.create_model_version(
                    name,
                    f"{run.info.artifact_uri}/{MODEL_DIR}",
                    run_id=run_id,
                    tags={"agora.format": meta["format"]},
                )
            except BaseException:
                self.client.set_terminated(run_id, "FAILED")
                raise
            self.client.set_terminated(run_id, "FINISHED")
        ref = ModelRef(name, str(version.version))
        with self._lock:
            self._meta[(ref.name, ref.version)] = meta
        return ref

    @staticmethod
    def _check_metrics(metrics: dict[str, float]) -> dict[str, float]:
        out: dict[str, float] = {}
        for key, value in metrics.items():
            try:
                number = float(value)
            except (TypeError, ValueError) as exc:
                raise InvalidInput(f"metric {key!r} must be a number, got {value!r}") from exc
            if not math.isfinite(number):
                raise InvalidInput(f"metric {key!r} must be finite, got {value!r}")
            out[str(key)] = number
        return out

    def _log_run(self, run_id: str, meta: dict[str, Any]) -> None:
        now = int(time.time() * 1000)
        tags = [RunTag("agora.data_snapshot", str(meta["data_snapshot"] or ""))]
        features = json.dumps(meta["features"])
        # The run tags are for people browsing MLflow; metadata.json is the record.
        tags.append(
            RunTag(
                "agora.features",
                features
                if len(features) <= _TAG_LIMIT
                else f"({len(meta['features'])} features, see metadata.json)",
            )
        )
        self.client.log_batch(
            run_id,
            metrics=[Metric(mlflow_key(k), v, now, 0) for k, v in meta["metrics"].items()],
            params=[Param(mlflow_key(k), str(v)[:_PARAM_LIMIT]) for k, v in meta["params"].items()],
            tags=tags,
        )

    def _experiment(self) -> str:
        with self._lock:
            if self._experiment_id is None:
                exp = self.client.get_experiment_by_name(EXPERIMENT)
                if exp is None:
                    try:
                        self._experiment_id = self.client.create_experiment(
                            EXPERIMENT, artifact_location=self.artifact_root
                        )
                    except MlflowException:  # another process created it first
                        exp = self.client.get_experiment_by_name(EXPERIMENT)
                        if exp is None:
                            raise
                        self._experiment_id = exp.experiment_id
                else:
                    self._experiment_id = exp.experiment_id
            return self._experiment_id

    def _ensure_registered(self, name: str) -> None:
        try:
            self.client.get_registered_model(name)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            try:
                self.client.create_registered_model(name)
            except MlflowException as exists:  # a concurrent save registered it
                if exists.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise

    # -- resolving and loading ---------------------------------------------------

    def resolve(
        self, name: str, *, version: str | None = None, alias: str | None = None
    ) -> ModelRef:
        """The concrete version that ``version``/``alias``/latest names."""
        return ModelRef(name, str(self._model_version(name, version, alias).version))

    def _model_version(self, name: str, version: str | None, alias: str | None) -> ModelVersion:
        check_name(name)
        if version is not None and alias is not None:
            raise InvalidInput("give a version or an alias, not both")
        if version is not None:
            if not str(version).isdigit():
                raise NotFound(f"model {name}@{version} not found (versions are integers)")
            with mlflow_errors(f"model {name}@{version}"):
                return self.client.get_model_version(name, str(version))
        if alias is not None:
            with mlflow_errors(f"model {name!r}"):
                aliases = self.client.get_registered_model(name).aliases
            if alias not in aliases:
                raise NotFound(f"model {name!r} has no alias {alias!r}")
            with mlflow_errors(f"model {name!r} alias {alias!r}"):
                return self.client.get_model_version(name, str(aliases[alias]))
        found = self._all_versions(name)
        if not found:
            raise NotFound(f"model {name!r} has no versions")
        return found[-1]

    def _all_versions(self, name: str) -> list[ModelVersion]:
        with mlflow_errors(f"model {name!r}"):
            registered = self.client.get_registered_model(name)
            found = list(self.client.search_model_versions(f"name = '{name}'"))
        # Search results carry no aliases; the registered model has them all.
        by_version: dict[str, list[str]] = {}
        for alias, version in registered.aliases.items():
            by_version.setdefault(str(version), []).append(alias)
        for mv in found:
            mv.aliases = by_version.get(str(mv.version), [])
        return sorted(found, key=lambda mv: int(mv.version))

    def _folder(self, mv: ModelVersion) -> Path:
        """Local folder holding a version's ``model/`` artifacts (downloaded once if remote)."""
        if not mv.source or not mv.run_id:
            raise NotFound(f"model {mv.name}@{mv.version} was not saved by Agora")
        local = local_path(mv.source)
        if local is not None and local.is_dir():
            return local
        target = self._downloads / mv.name / str(mv.version)
        if not target.is_dir():
            with mlflow_errors(f"artifacts of {mv.name}@{mv.version}"):
                got = self.client.download_artifacts(
                    mv.run_id, MODEL_DIR, tempfile.mkdtemp(dir=self._downloads)
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            Path(got).rename(target)
        return target

    def _metadata(self, mv: ModelVersion) -> dict[str, Any]:
        key = (mv.name, str(mv.version))
        with self._lock:
            if key not in self._meta:
                path = self._folder(mv) / "metadata.json"
                if not path.is_file():
                    raise NotFound(f"model {mv.name}@{mv.version} was not saved by Agora")
                self._meta[key] = json.loads(path.read_text())
            return self._meta[key]

    def load(self, name: str, *, version: str | None = None, alias: str | None = None) -> Any:
        """The model object (a local ``Path`` for models stored with ``save_path``)."""
        mv = self._model_version(name, version, alias)
        key = (mv.name, str(mv.version))
        with self._lock:
            if key not in self._objects:
                meta = self._metadata(mv)
                path = self._folder(mv) / meta["file"]
                if meta["format"] == "pickle":
                    with open(path, "rb") as fh:
                        self._objects[key] = cloudpickle.load(fh)
                else:
                    self._objects[key] = path
            return self._objects[key]

    def load_path(self, name: str, *, version: str | None = None, alias: str | None = None) -> Path:
        """Local path of the stored file or folder (read it, do not modify it)."""
        mv = self._model_version(name, version, alias)
        return self._folder(mv) / str(self._metadata(mv)["file"])

    # -- metadata and aliases ----------------------------------------------------

    def _info(self, mv: ModelVersion) -> ModelVersionInfo:
        meta = self._metadata(mv)
        return ModelVersionInfo(
            ref=ModelRef(mv.name, str(mv.version)),
            params=dict(meta["params"]),
            metrics=dict(meta["metrics"]),
            data_snapshot=meta["data_snapshot"],
            features=list(meta["features"]),
            aliases=sorted(mv.aliases or []),
            created_at=mv.creation_timestamp / 1000 if mv.creation_timestamp else None,
            run_id=mv.run_id,
        )

    def info(
        self, name: str, *, version: str | None = None, alias: str | None = None
    ) -> ModelVersionInfo:
        """Metadata of one version (latest when neither version nor alias is given)."""
        return self._info(self._model_version(name, version, alias))

    def versions(self, name: str) -> list[ModelVersionInfo]:
        """All versions of ``name``, oldest first."""
        return [self._info(mv) for mv in self._all_versions(name)]

    def set_alias(self, name: str, alias: str, version: str) -> None:
        """Point ``alias`` at ``version`` (moves it if it pointed elsewhere)."""
        self._model_version(name, version, None)  # NotFound for an unknown version
        with mlflow_errors(f"alias {alias!r} of model {name!r}"):
            self.client.set_registered_model_alias(name, alias, str(version))

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove ``alias``; ``NotFound`` if the model has no such alias."""
        with mlflow_errors(f"model {name!r}"):
            aliases = self.client.get_registered_model(check_name(name)).aliases
        if alias not in aliases:
            raise NotFound(f"model {name!r} has no alias {alias!r}")
        with mlflow_errors(f"alias {alias!r} of model {name!r}"):
            self.client.delete_registered_model_alias(name, alias)

    def aliases(self, name: str) -> dict[str, str]:
        """Alias -> version for one model."""
        with mlflow_errors(f"model {name!r}"):
            found = self.client.get_registered_model(check_name(name)).aliases
        return {alias: str(v) for alias, v in sorted(found.items())}

    def attach(self, name: str, version: str, path: str | Path) -> None:
        """Log ``path`` into the version's run under ``attachments/`` (immutable once set)."""
        src = Path(path)
        if not src.is_file():
            raise InvalidInput(f"attachment {str(src)!r} is not a file")
        mv = self._model_version(name, version, None)
        if not mv.run_id:
            raise NotFound(f"model {name}@{version} was not saved by Agora")
        with mlflow_errors(f"attaching {src.name} to {name}@{version}"):
            self.client.log_artifact(mv.run_id, str(src), ATTACHMENTS)

    def attachment(self, name: str, version: str, filename: str) -> Path:
        """Local path of an attached file (downloaded once when artifacts are remote)."""
        if "/" in filename or filename in {"", ".", ".."}:
            raise InvalidInput(f"invalid attachment name {filename!r}")
        mv = self._model_version(name, version, None)
        if not mv.run_id or not mv.source:
            raise NotFound(f"model {name}@{version} was not saved by Agora")
        run_root = mv.source.rsplit("/", 1)[0]
        local = local_path(f"{run_root}/{ATTACHMENTS}/{filename}")
        if local is not None:
            if not local.is_file():
                raise NotFound(f"model {name}@{version} has no attachment {filename!r}")
            return local
        target = self._downloads / name / f"{version}-{ATTACHMENTS}" / filename
        if not target.is_file():
            with mlflow_errors(f"attachment {filename!r} of {name}@{version}"):
                got = self.client.download_artifacts(
                    mv.run_id, f"{ATTACHMENTS}/{filename}", tempfile.mkdtemp(dir=self._downloads)
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            Path(got).rename(target)
        return target

    def models(self) -> list[str]:
        """Registered model names, sorted."""
        names: list[str] = []
        token: str | None = None
        while True:
            page = self.client.search_registered_models(max_results=1000, page_token=token)
            names.extend(rm.name for rm in page)
            token = page.token
            if not token:
                return sorted(names)

    def close(self) -> None:
        """Drop caches and downloaded artifacts."""
        with self._lock:
            self._objects.clear()
            self._meta.clear()
            if self._download_dir is not None:
                shutil.rmtree(self._download_dir, ignore_errors=True)
                self._download_dir = None
