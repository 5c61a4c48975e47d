"""Training pipelines as code, one per model family (``agora train <family>``).

Example:
    >>> from agora.mlops.training.ctr import train_ctr  # doctest: +SKIP
    >>> train_ctr(platform)["decision"]  # doctest: +SKIP
    'challenger'
"""

from __future__ import annotations

# Family -> orchestrator task name (see agora.mlops.tasks.DEFAULT_TASKS).
FAMILIES = {
    "ctr": "train.ctr",
    "cvr": "train.cvr",
    "ranker": "train.ranker",
    "recommender": "train.recommender",
    "tagger": "train.tagger",
    "classifier": "train.classifier",
    "condition": "train.condition",
    "code-review": "train.code_review",
    "language": "train.language",
}

__all__ = ["FAMILIES"]
