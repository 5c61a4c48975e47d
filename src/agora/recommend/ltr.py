"""Learning-to-rank hybrid: base models' candidates re-ranked by LightGBM ranking models.

Fitting (all on the training data; the test data of a benchmark never enters):

1. ``folds`` per-user holdouts of the training matrix (``holdout`` of
   ``agora.recommend.jobs``, 80/20, different seeds; ten by default: with
   five, the three MovieLens-100k splits ranked 0.002 NDCG@10 lower); on
   each, fresh copies of the components are fitted on the 80% and every user
   with held-out assets gets candidates and features
   (``agora.recommend.ltr_features``), labelled 1 when the candidate is one
   of the user's held-out assets;
2. ranking models (LightGBM ``rank_xendcg``, validated on NDCG@10) are
   trained on those groups in ``bags``-fold cross-validation over users; the
   number of trees is the peak of the bags' mean validation curve, and
   serving averages the bags' scores (one model's early stop on a fifth of
   the users was noise: 12 trees on one split, 900 on the next);
3. the components are refitted on the whole matrix; serving builds the same
   features from them. The features are ranks, shares and per-user
   standardised scores, never counts, so the shift from 80% to 100% of the
   data changes little (with counts, the validation-best ranker lost 0.01
   NDCG@10 on the test split of MovieLens-100k).

With too few users, no held-out positives, or no side information at all,
the ranker still trains on what there is; with fewer than
``min_users`` users it is skipped and the plain blend serves
(:class:`~agora.recommend.hybrid.HybridRecommender`, equal weights).

Example:
    >>> from agora.recommend.ease import EaseRecommender
    >>> data = InteractionMatrix.from_triples([("u1", "a1", 1), ("u1", "a2", 1),
    ...                                        ("u2", "a1", 1), ("u2", "a2", 1), ("u3", "a1", 1)])
    >>> h = LtrHybridRecommender({"ease": EaseRecommender(1.0)}).fit(data)
    >>> h.ranker is None, [i.asset_id for i in h.recommend("u3", 1)]
    (True, ['a2'])
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import Any, Self

import lightgbm as lgb
import numpy as np
import scipy.sparse as sp

from agora.mlops.artifact_state import VersionedState
from agora.ranking.fasttrees import CompiledForest
from agora.ranking.quickscorer import QuickScorer
from agora.recommend.base import InteractionMatrix
from agora.recommend.content import ContentRecommender
from agora.recommend.hybrid import HybridRecommender, Scorer
from agora.recommend.ltr_features import FeatureBuilder
from agora.recommend.matrix import MatrixRecommender, NotFitted, history_row
from agora.recommend.side_info import SideInfo

log = logging.getLogger(__name__)

PARAMS: dict[str, Any] = {
    # The cross-entropy NDCG loss (Bruch 2019), not lambdarank: on the three
    # MovieLens-100k splits it ranked +0.004 NDCG@10 better with the same
    # features and trees (0.499 against 0.495), and it fits ~2x faster.
    "objective": "rank_xendcg",
    "metric": "ndcg",
    "eval_at": [10],
    "learning_rate": 0.06,
    "num_leaves": 7,
    "min_data_in_leaf": 500,
    "lambda_l2": 10.0,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "verbose": -1,
}


class LtrHybridRecommender(VersionedState, HybridRecommender):
    """Hybrid whose candidates are ranked by a learned LightGBM model (``ranker``).

    Stored format 2: ``head`` set (the share of the pool the ranker scores).
    Format 1, pickled before versioning, may predate it: ``head`` None ranks
    the whole pool, as those versions did.
    """

    FORMAT_VERSION = 2
    name = "hybrid"

    def __init__(
        self,
        components: Mapping[str, MatrixRecommender],
        *,
        pool: int = 100,
        head: int = 30,
        folds: int = 10,
        holdout_ratio: float = 0.2,
        seed: int = 0,
        max_rounds: int = 500,
        bags: int = 5,
        min_users: int = 20,
        num_threads: int = 2,
        content: ContentRecommender | None = None,
    ):
        super().__init__(components, pool=pool, content=content)
        self.head: int | None = head
        self.folds = folds
        self.holdout_ratio = holdout_ratio
        self.seed = seed
        self.max_rounds = max_rounds
        self.bags = bags
        self.min_users = min_users
        self.num_threads = num_threads
        self.ranker: BaggedRanker | None = None
        self.features: FeatureBuilder | None = None
        self.side = SideInfo()

    def params(self) -> dict[str, Any]:
        return {
            **super().params(),
            "ranker": "lightgbm-rank_xendcg",
            "head": self.head,
            "folds": self.folds,
            "holdout_ratio": self.holdout_ratio,
            "bags": len(self.ranker.boosters) if self.ranker is not None else 0,
            "trees": self.ranker.trees if self.ranker is not None else 0,
        }

    def fit(self, data: InteractionMatrix, side: SideInfo | None = None) -> Self:
        """Train the ranker on holdout folds of ``data``, then refit the components on all of it."""
        self.side = side or SideInfo()
        self.ranker = None
        if len(data.user_ids) >= self.min_users:
            self.ranker = self._train_ranker(data)
        super().fit(data)
        self.features = FeatureBuilder(
            data, self.components, self.side, pool=self.pool, content=self.content
        )
        return self

    # -- training ------------------------------------------------------------------
    def _fold_groups(
        self, data: InteractionMatrix, fold: int
    ) -> list[tuple[str, np.ndarray, np.ndarray]]:
        from agora.recommend.jobs import holdout  # jobs imports the hybrid modules

        part, truth = holdout(data, ratio=self.holdout_ratio, seed=self.seed + fold)
        comps = {k: copy.deepcopy(v).fit(part) for k, v in self.components.items()}
        builder = FeatureBuilder(
            part, comps, self.side.restricted(part), pool=self.pool, content=self.content
        )
        out = []
        for user, held in truth.items():
            scores = {k: c.score_user(user) for k, c in comps.items()}
            if any(s is None for s in scores.values()):
                continue
            history = part.matrix[part.user_index[user]]
            idx, x = builder.rows({k: s[0] for k, s in scores.items() if s}, history, user)
            held_idx = {part.item_index[a] for a in held}
            out.append((user, x, np.isin(idx, list(held_idx)).astype(np.float32)))
        return out

    def _train_ranker(self, data: InteractionMatrix) -> BaggedRanker | None:
        groups = [g for fold in range(self.folds) for g in self._fold_groups(data, fold)]
        groups = [g for g in groups if len(g[2])]
        if not groups or not any(g[2].any() for g in groups):
            log.info("ltr hybrid: no held-out positives, ranker skipped")
            return None
        users = np.array(sorted({g[0] for g in groups}))
        params = {**PARAMS, "num_threads": self.num_threads}
        if len(groups) < 50 or len(users) < 2 * self.bags:
            # A small catalog: one ranker with a fixed budget, and leaves small
            # enough for the trees to split at all.
            params.update(min_data_in_leaf=5, seed=self.seed)
            return BaggedRanker([lgb.train(params, _dataset(groups), 200)], 200)
        # Cross-validation over users: each bag validates on a different
        # fifth, and the number of trees is the peak of their mean curve.
        order = np.random.default_rng(self.seed).permutation(len(users))
        fold_of = {u: k % self.bags for k, u in enumerate(users[order].tolist())}
        boosters, curves = [], []
        for bag in range(self.bags):
            train = [g for g in groups if fold_of[g[0]] != bag]
            valid = [g for g in groups if fold_of[g[0]] == bag]
            dtrain = _dataset(train)
            record: dict[str, Any] = {}
            boosters.append(
                lgb.train(
                    {**params, "seed": self.seed + bag},
                    dtrain,
                    self.max_rounds,
                    valid_sets=[_dataset(valid, reference=dtrain)],
                    callbacks=[lgb.record_evaluation(record)],
                )
            )
            curves.append(np.asarray(record["valid_0"]["ndcg@10"]))
        trees = _peak(np.mean(curves, axis=0))
        log.info("ltr hybrid: %d groups, %d bags, %d trees", len(groups), self.bags, trees)
        return BaggedRanker(boosters, trees)

    # -- serving ---------------------------------------------------------------------
    def _blend(
        self, scorer: Scorer, history: Mapping[str, float] | None, user: str | None = None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        if self.ranker is None:
            return super()._blend(scorer, history, user)
        data, builder = self.data, self.features
        if data is None or builder is None:
            raise NotFitted("hybrid is not fitted")
        raw: dict[str, np.ndarray] = {}
        seen: np.ndarray = np.empty(0, dtype=np.int64)
        for name, component in self.components.items():
            scored = scorer(component)
            if scored is None:
                return super()._blend(scorer, history, user)
            raw[name], seen = scored
        hist_row = _history_row(data, seen, history)
        # Serving ranks the pool's head only: the ranker's top 10 lies in some
        # component's top 30 (MovieLens-100k, 3 splits: the same NDCG@10 as
        # ranking all ~140 candidates, at a third of the predictions).
        idx, x = builder.rows(raw, hist_row, user, head=self.head)
        out = np.full(len(data.item_ids), -np.inf, dtype=np.float32)
        if len(idx):
            out[idx] = self.ranker.predict(x)
        return out, seen


def _history_row(
    data: InteractionMatrix, seen: np.ndarray, history: Mapping[str, float] | None
) -> sp.csr_matrix:
    """The 1 x n_items history row the features see: ``history``'s weights on ``seen``.

    For a user of the matrix ``history`` is their training row; for a live
    history (events newer than the model) it is what the components scored.
    """
    cols = np.unique(np.asarray(seen, dtype=np.int64))
    ids = data.item_ids
    weights = np.array([float((history or {}).get(ids[j], 1.0)) for j in cols], np.float32)
    return history_row(cols, weights, len(ids))


class BaggedRanker(VersionedState):
    """Ranking boosters of the cross-validation bags, averaged, each cut at ``trees``.

    Serving scores all the bags' trees as one forest (leaf values scaled by
    1/bags, so its sum is their mean) with QuickScorer
    (:mod:`agora.ranking.quickscorer`): for MovieLens' ~80 head rows x 5 bags
    x ~480 trees of 7 leaves that is ~1.5 ms on one core, where
    ``Booster.predict`` took ~5 ms and a tree walk ~4 ms. (``lleaves``
    compiles the trees to code, but it needs llvmlite's legacy pass manager,
    which the llvmlite that numba 0.68 requires no longer has.)

    Stored format 2 holds the compiled forest; format 1 (pickled before
    versioning) may predate it and gets it compiled at load.
    """

    FORMAT_VERSION = 2

    def __init__(self, boosters: list[lgb.Booster], trees: int):
        self.boosters = boosters
        self.trees = trees
        self.forest = _forest(boosters, trees)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Mean score of the bags for the rows of ``x``."""
        if self.forest is not None:
            return self.forest.predict_raw(x)
        # One thread: the server's threads share these cores, and pool workers
        # spinning against them (BLAS, in the ALS fold-in) made p99s of hundreds of ms.
        scores = [b.predict(x, num_iteration=self.trees, num_threads=1) for b in self.boosters]
        return np.asarray(np.mean(scores, axis=0))


def _ltr_hybrid_v1(state: dict[str, Any]) -> dict[str, Any]:
    """Format 1: hybrids pickled before versioning; the oldest lack ``head``."""
    state.setdefault("head", None)
    return state


def _bagged_v1(state: dict[str, Any]) -> dict[str, Any]:
    """Format 1: rankers pickled before versioning; the oldest lack the forest."""
    if "forest" not in state:
        state["forest"] = _forest(state["boosters"], state["trees"])
    return state


LtrHybridRecommender.STATE_LOADERS = {1: _ltr_hybrid_v1, 2: dict}
BaggedRanker.STATE_LOADERS = {1: _bagged_v1, 2: dict}


def _forest(boosters: list[lgb.Booster], trees: int) -> QuickScorer | CompiledForest | None:
    """The bags as one scaled forest; None (boosters serve) for splits it cannot walk."""
    try:
        forest = CompiledForest.from_boosters(
            boosters, num_iteration=trees, scale=1 / len(boosters)
        )
    except ValueError:  # categorical splits
        return None
    try:
        return QuickScorer.from_forest(forest)
    except ValueError:  # trees of over 64 leaves: the walk
        return forest


def _peak(curve: np.ndarray, window: int = 25) -> int:
    """Trees at the peak of a validation curve smoothed over ``window`` rounds.

    One bag's curve wobbles by more than the gain of a hundred trees; the
    running mean keeps a lucky early bump from cutting the ranker short.
    """
    if len(curve) <= window:
        return int(np.argmax(curve)) + 1
    smooth = np.convolve(curve, np.ones(window) / window, mode="valid")
    return int(np.argmax(smooth)) + window // 2 + 1


def _dataset(
    groups: list[tuple[str, np.ndarray, np.ndarray]], reference: lgb.Dataset | None = None
) -> lgb.Dataset:
    x = np.vstack([g[1] for g in groups])
    y = np.concatenate([g[2] for g in groups])
    return lgb.Dataset(x, y, group=[len(g[2]) for g in groups], reference=reference)
