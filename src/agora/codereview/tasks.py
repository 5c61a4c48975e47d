"""Task entry point of the verdict model's gated pipeline (``train.code_review``).

Example:
    >>> train(platform, data_dir="../shared/data")["decision"]  # doctest: +SKIP
    'champion'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agora.codereview.training import train_code_review
from agora.mlops.training.pipeline import TrainingServices
from agora.mlops.training.tasks import entry_point

if TYPE_CHECKING:
    from agora.runtime import Platform


def training_services(platform: Platform) -> TrainingServices:
    """What the code-review pipeline uses, from ``platform``."""
    return TrainingServices(settings=platform.settings, db=platform.db, models=platform.models)


train = entry_point(train_code_review, training_services)

__all__ = ["train", "training_services"]
