"""What a registered model serves right now, resolved the way the capability
that loads it resolves it.

Each family of models is loaded by one capability, and each has its own rule
for a model without a champion:

==================================  ===============  ==================================
model                               loaded by        without a champion
==================================  ===============  ==================================
``reco-<algorithm>``                recommendations  the latest registered version
``ranking-pctr``, ``ranking-pcvr``  ranking          the latest registered version
``ranking-lambdamart``              ranking          the same, when ``ranking.scorer``
                                                     is ``lambdamart`` (else unused)
``tag-heads``                       tagging          nothing (zero-shot tags only)
``moderation-toxicity``/``-spam``   moderation       nothing (verdicts are degraded)
anything else                       no capability    nothing
==================================  ===============  ==================================

With a champion, a challenger in canary serves the deterministic share of
subjects (:meth:`CanaryRouter.choose`): users for recommendations and ranking,
assets for tag heads, the analysed item for moderation.

Example:
    >>> reports = ServingReports(platform.models, platform.serving, ranking_scorer="final_score")
    ... # doctest: +SKIP
    >>> reports.report("reco-hybrid", "u-42").to_dict()["role"]  # doctest: +SKIP
    'latest'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agora.errors import NotFound
from agora.mlops.canary import CHALLENGER_ROLE
from agora.mlops.registry import Deployment

if TYPE_CHECKING:
    from agora.mlops.base import ModelStore
    from agora.mlops.canary import CanaryRouter

LATEST_ROLE = "latest"


@dataclass(frozen=True)
class Consumer:
    """The capability that loads a model family, and how it picks a version."""

    capability: str
    subject: str  # what the canary share is drawn over
    latest_without_champion: bool
    without_champion: str  # what happens when nothing is promoted, in words


RECOMMENDATIONS = Consumer(
    "recommendations", "users", True, "recommendations serve the latest registered version"
)
RANKING = Consumer("ranking", "users", True, "ranking serves the latest registered version")
TAGGING = Consumer(
    "tagging", "assets", False, "no tag heads serve: tags come from zero-shot scoring only"
)
MODERATION = Consumer(
    "moderation",
    "analysed items",
    False,
    "no classifier serves: text verdicts are degraded (accepted and queued for review)",
)


def consumer_of(name: str) -> Consumer | None:
    """The capability that loads ``name`` (None: no Agora capability does)."""
    from agora.moderation.text_models import SpamClassifier, ToxicityClassifier
    from agora.ranking.models import PCTR_MODEL, PCVR_MODEL, RANKER_MODEL
    from agora.recommend.registry import MODEL_CLASSES
    from agora.tagging.training import HEADS_MODEL

    if name.startswith("reco-") and name.removeprefix("reco-") in MODEL_CLASSES:
        return RECOMMENDATIONS
    if name in (PCTR_MODEL, PCVR_MODEL, RANKER_MODEL):
        return RANKING
    if name == HEADS_MODEL:
        return TAGGING
    if name in (ToxicityClassifier.name, SpamClassifier.name):
        return MODERATION
    return None


@dataclass(frozen=True)
class ServingReport:
    """The version serving one subject of a model, and why that one."""

    name: str
    version: str | None
    role: str | None
    consumer: Consumer | None
    subject: str | None
    deployment: Deployment
    canary_share: float | None
    latest_version: str | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        dep = self.deployment
        return {
            "model": f"{self.name}@{self.version}" if self.version else None,
            "name": self.name,
            "version": self.version,
            "role": self.role,
            "served": self.version is not None,
            "served_by": self.consumer.capability if self.consumer else None,
            "subject": self.subject,
            "champion": dep.champion,
            "challenger": dep.challenger,
            "canary_share": self.canary_share,
            "latest_version": self.latest_version,
            "detail": self.detail,
        }


class ServingReports:
    """Resolve what serves a model for a subject; ``NotFound`` only for unknown models."""

    def __init__(self, models: ModelStore, serving: CanaryRouter, *, ranking_scorer: str) -> None:
        """Versions from ``models``; deployments and canary routing from ``serving``;
        ``ranking_scorer`` (``ranking.scorer``) says which ranking models serve."""
        self.models, self.serving, self.ranking_scorer = models, serving, ranking_scorer

    def report(self, name: str, subject: str | None = None) -> ServingReport:
        """The version serving ``subject`` (anonymous: the champion's share)."""
        versions = self.models.versions(name)  # NotFound for an unknown model
        if not versions:
            raise NotFound(f"model {name!r} has no versions")
        latest = versions[-1].ref.version
        dep = self.serving.registry.deployment(name)  # adopts MLflow's aliases
        consumer = consumer_of(name)
        router = self.serving
        share = None
        if dep.champion is not None and dep.challenger is not None:
            share = router.default_share if dep.canary_share is None else dep.canary_share

        def made(version: str | None, role: str | None, detail: str) -> ServingReport:
            return ServingReport(name, version, role, consumer, subject, dep, share, latest, detail)

        unused = self._unused(name)
        if unused is not None:
            return made(None, None, unused)
        choice = router.choose(dep, subject)  # the very choice every capability makes
        if choice is None:  # no champion
            if consumer is not None and consumer.latest_without_champion:
                return made(latest, LATEST_ROLE, f"no champion: {consumer.without_champion}")
            what = consumer.without_champion if consumer else "nothing serves"
            return made(None, None, f"no champion: {what}; promote a version to serve it")
        who = f"{consumer.capability} loads" if consumer else "the registry resolves"
        version = choice.ref.version
        if share is None:
            return made(version, choice.role, f"{who} the champion")
        subjects = consumer.subject if consumer else "subjects"
        canary = f"{share:.1%} of {subjects}"
        if choice.role == CHALLENGER_ROLE:
            detail = f"{who} the challenger for {subject!r}: inside the canary share ({canary})"
            return made(version, choice.role, detail)
        why = "outside the canary share" if subject else "anonymous requests"
        detail = f"{who} the champion ({why}; the challenger {dep.challenger} serves {canary})"
        return made(version, choice.role, detail)

    def _unused(self, name: str) -> str | None:
        """Why a model the platform could load is not loaded in this configuration."""
        from agora.ranking.models import RANKER_MODEL

        scorer = self.ranking_scorer
        if name == RANKER_MODEL and scorer != "lambdamart":
            return (
                f"ranking scores with {scorer!r} (ranking.scorer): {name} serves only "
                "when ranking.scorer is 'lambdamart'"
            )
        return None
