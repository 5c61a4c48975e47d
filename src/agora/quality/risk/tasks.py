"""Task entry point of the anomaly model's gated pipeline: ``train.anomaly``.

Example:
    >>> train_anomaly_task(platform, holdout_share=0.3)["decision"]  # doctest: +SKIP
    'champion'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agora.mlops.training.pipeline import TrainingServices
from agora.mlops.training.tasks import entry_point
from agora.quality.risk.training import train_anomaly

if TYPE_CHECKING:
    from agora.runtime import Platform


def anomaly_training(platform: Platform) -> TrainingServices:
    """What the anomaly pipeline uses, from ``platform``."""
    return TrainingServices(platform.settings, platform.db, platform.models)


train_anomaly_task = entry_point(train_anomaly, anomaly_training)
"""The ``train.anomaly`` task: ``train_anomaly`` with the platform's services."""
