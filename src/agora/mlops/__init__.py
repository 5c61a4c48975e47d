"""MLOps: the model store every model is saved to and loaded from.

Example:
    >>> store = create_model_store(Settings.load(data_dir="/tmp/agora"))  # doctest: +SKIP
    >>> ref = store.save("spam-clf", clf, metrics={"f1": 0.96})  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agora.mlops.base import ModelStore, ModelVersionInfo

if TYPE_CHECKING:
    from agora.config import Settings


def create_model_store(settings: Settings) -> ModelStore:
    """The MLflow-backed store named by ``settings.registry``.

    MLflow is imported here, not at package import, because it takes about two
    seconds and only processes that touch models should pay for it.
    """
    from agora.mlops.mlflow_store import MlflowModelStore

    return MlflowModelStore(settings.registry.tracking_uri, settings.registry.artifact_root)


__all__ = ["ModelStore", "ModelVersionInfo", "create_model_store"]
