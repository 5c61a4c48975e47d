"""Train every model the demo serves, through the gated MLOps pipelines.

On a fresh data dir each first version passes the evaluation gate as the
first champion, so ``GET /api/v1/models/{name}/serving`` names it, and the
promotion history says the demo trained it. What is trained, all on
SIMULATED sessions:

* trending lists, then the recommenders (``train.recommender``: EASE,
  item-kNN, RP3beta, ALS, BPR, content, the hybrid blend);
* the ranking models (``train.ctr``, ``train.ranker``; ``train.cvr`` from
  ``MIN_PURCHASES`` simulated purchases) on the ranking service's served-list
  log of the simulated searches and feed visits (``agora.demo.traffic``), so
  ranked search has learnt what its users click.

The pipelines come bound to the platform at the edge (``DemoPipelines``,
built by ``agora.cli.demo``): this module decides what to train and how to
report it, not where the stores are.

Example:
    >>> train_recommenders(pipelines)["hybrid"]  # doctest: +SKIP
    'reco-hybrid@1 (champion)'
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agora.errors import InvalidInput

log = logging.getLogger(__name__)
ACTOR = "demo"
# A pCVR fitted on a dozen simulated purchases is noise: with weight 2 in the
# FinalScore, one asset that happened to be bought twice outranked the query's
# matches. Below this many purchases the catalog's smoothed rate stands in.
MIN_PURCHASES = 50


#: A gated training pipeline bound to its stores: keyword parameters -> its outcome.
Pipeline = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class DemoPipelines:
    """The training entry points the demo runs, bound to one platform."""

    #: ``agora.recommend.jobs.refresh_trending``.
    refresh_trending: Callable[[], object]
    #: ``train.recommender`` (``tune=``, ``reason=``, ``actor=``).
    recommenders: Pipeline
    #: The ungated recommender fit (``tune=``) -> model name: ref.
    recommenders_ungated: Callable[..., Mapping[str, object]]
    #: ``pctr``, ``pcvr`` and ``ranker`` -> their gated pipeline (``reason=``, ``actor=``).
    rankers: Mapping[str, Pipeline]
    #: Makes the ranking service serve the new champions.
    reload_rankers: Callable[[], object]


def _outcome(result: dict[str, Any]) -> str:
    return f"{result['model']} ({result['decision']})"


def train_recommenders(pipelines: DemoPipelines) -> dict[str, str]:
    """Trending lists, then every recommender through ``train.recommender``.

    With too little traffic for its time holdout (a handful of sessions), the
    models are fitted on everything and saved ungated instead: their latest
    versions serve until a gated run makes champions.
    """
    pipelines.refresh_trending()
    try:
        result = pipelines.recommenders(tune=False, reason="demo", actor=ACTOR)
    except InvalidInput as exc:
        log.warning("demo: recommenders not gated (%s); saving ungated versions", exc.detail)
        try:
            refs = pipelines.recommenders_ungated(tune=False)
        except InvalidInput as crowned:  # champions exist already: they keep serving
            return {"recommenders": f"not retrained ({exc.detail}; {crowned.detail})"}
        return {name: f"{ref} (latest, not gated: {exc.detail})" for name, ref in refs.items()}
    return {name: _outcome(out) for name, out in result["models"].items()}


def train_rankers(pipelines: DemoPipelines, *, purchases: int | None = None) -> dict[str, str]:
    """pCTR, pCVR and LambdaMART through their pipelines (a model the simulated
    traffic cannot train yet is reported as skipped: pCVR below ``MIN_PURCHASES``
    ``purchases`` in the replayed traffic, or whatever a pipeline refuses)."""
    out: dict[str, str] = {}
    for label, pipeline in pipelines.rankers.items():
        if label == "pcvr" and purchases is not None and purchases < MIN_PURCHASES:
            out[label] = (
                f"skipped ({purchases} simulated purchases, need {MIN_PURCHASES}; "
                "the catalog's smoothed conversion rate serves as pCVR)"
            )
            continue
        try:
            out[label] = _outcome(pipeline(reason="demo", actor=ACTOR))
        except InvalidInput as exc:
            log.warning("demo: %s not trained: %s", label, exc.detail)
            out[label] = f"skipped ({exc.detail})"
    pipelines.reload_rankers()
    return out
