"""Task entry points of the gated training pipelines: ``train.ctr``, ``train.cvr``,
``train.ranker``, ``train.recommender``, ``train.classifier``, ``train.condition`` and
``train.language``.

The edge between the composition root and the pipelines: each entry point
takes the platform (as ``agora.mlops.tasks.call_task`` calls every task),
builds the services its pipeline uses (the builders below, one per family)
and runs the pipeline with the same context and parameters. Its signature,
parameters and docstring are the pipeline's, so the orchestrator checks a
request's parameters against the pipeline itself.

Example:
    >>> train_ctr(platform, n_estimators=20)["decision"]  # doctest: +SKIP
    'champion'
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from agora.language import training as language_training_pipeline
from agora.mlops.training import classifier, condition, ctr, ranker, recommender
from agora.mlops.training.classifier import ClassifierTraining
from agora.mlops.training.condition import ConditionTraining
from agora.mlops.training.ctr import RankingTraining
from agora.mlops.training.pipeline import TrainingServices
from agora.mlops.training.recommender import RecommenderTraining

if TYPE_CHECKING:
    from agora.runtime import Platform

P = ParamSpec("P")
S = TypeVar("S")


def ranking_training(platform: Platform) -> RankingTraining:
    """What the ranking models' pipelines use, from ``platform``."""

    def flush_served() -> None:
        if platform.built("ranking"):  # lists still queued in this process's log writer
            platform.ranking.feature_log.flush()

    return RankingTraining(
        settings=platform.settings,
        db=platform.db,
        models=platform.models,
        flush_served=flush_served,
    )


def recommender_training(platform: Platform) -> RecommenderTraining:
    """What the recommender pipeline uses, from ``platform``."""
    from agora.recommend.tasks import served_reloader

    return RecommenderTraining(
        settings=platform.settings,
        db=platform.db,
        models=platform.models,
        search_backends=lambda: platform.search_backends,
        reload_served=served_reloader(platform),
    )


def classifier_training(platform: Platform) -> ClassifierTraining:
    """What the moderation classifier pipeline uses, from ``platform``."""
    return ClassifierTraining(
        settings=platform.settings,
        db=platform.db,
        models=platform.models,
        moderator_examples=lambda: platform.moderation_queue.examples(),
    )


def condition_training(platform: Platform) -> ConditionTraining:
    """What the image condition pipeline uses, from ``platform``."""
    return ConditionTraining(
        settings=platform.settings,
        db=platform.db,
        models=platform.models,
        image_encoder=lambda: platform.encoders.image(),
    )


def language_training(platform: Platform) -> TrainingServices:
    """What the language heads' pipeline uses, from ``platform``."""
    return TrainingServices(settings=platform.settings, db=platform.db, models=platform.models)


def entry_point(
    pipeline: Callable[Concatenate[S, P], dict[str, Any]],
    services: Callable[[Platform], S],
) -> Callable[Concatenate[Platform, P], dict[str, Any]]:
    """The task ``fn(platform, ...)`` that runs ``pipeline(services(platform), ...)``.

    It carries the pipeline's signature (``functools.wraps``), so ``call_task``
    passes ``ctx`` and refuses unknown parameters exactly as for the pipeline.
    """

    @functools.wraps(pipeline)
    def task(platform: Platform, /, *args: P.args, **kwargs: P.kwargs) -> dict[str, Any]:
        return pipeline(services(platform), *args, **kwargs)

    return task


train_ctr = entry_point(ctr.train_ctr, ranking_training)
train_cvr = entry_point(ctr.train_cvr, ranking_training)
train_ranker = entry_point(ranker.train_ranker, ranking_training)
train_recommender = entry_point(recommender.train_recommender, recommender_training)
train_classifier = entry_point(classifier.train_classifier, classifier_training)
train_condition = entry_point(condition.train_condition, condition_training)
train_language = entry_point(language_training_pipeline.train_language, language_training)

__all__ = [
    "classifier_training",
    "condition_training",
    "entry_point",
    "language_training",
    "ranking_training",
    "recommender_training",
    "train_classifier",
    "train_condition",
    "train_ctr",
    "train_cvr",
    "train_language",
    "train_ranker",
    "train_recommender",
]
