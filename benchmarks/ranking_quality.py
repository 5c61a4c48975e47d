"""Ranking quality: LambdaMART on LightGBM's learning-to-rank example, and simulated feeds.

1. ``lambdarank.*``: the platform's ``LambdaRanker`` (its serving configuration:
   few, shallow trees) on ``../shared/data/lightgbm-lambdarank`` (rank.train /
   rank.test), NDCG@1/3/5/10 on the test split; ``lightgbm_reference.*``: the
   example's own ``train.conf`` trained in the same run (anchor).
2. ``feed.*``: SIMULATED feeds (agora.demo.simulator users with hidden
   preferences). pCTR trained on labelled impressions of simulated sessions
   (1-hour attribution), then for every user the full catalog is scored and
   NDCG@20 is computed against the hidden true affinity; the anchor is the
   popularity prior (smoothed CTR) the pipeline falls back to.

Run: ``.venv/bin/python benchmarks/ranking_quality.py [--quick]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
from sklearn.datasets import load_svmlight_file

from agora.ranking.hydration import FEATURES
from agora.ranking.models import CtrModel, LambdaRanker
from agora.ranking.scoring import Scorer, Weights, popularity_score
from agora.ranking.simworld import SimWorld, ndcg_at

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lightgbm-lambdarank"
RESULTS = Path(__file__).resolve().parent / "results" / "ranking_quality.json"
TRAIN_KEYS = {
    "objective", "num_trees", "learning_rate", "num_leaves", "feature_fraction",
    "bagging_freq", "bagging_fraction", "min_data_in_leaf", "min_sum_hessian_in_leaf", "max_bin",
}  # fmt: skip


def lightgbm_ndcg(scores: np.ndarray, labels: np.ndarray, groups: np.ndarray, k: int) -> float:
    """LightGBM's NDCG@k: gains 2^rel - 1, queries without relevant docs count as 1."""
    out, start = [], 0
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    for size in groups:
        s, y = scores[start : start + size], labels[start : start + size]
        start += size
        order = np.argsort(-s, kind="stable")[:k]
        gains = 2.0 ** y[order] - 1
        ideal = (2.0 ** np.sort(y)[::-1][:k]) - 1
        idcg = float((ideal * disc[: len(ideal)]).sum())
        out.append(1.0 if idcg == 0 else float((gains * disc[: len(gains)]).sum()) / idcg)
    return float(np.mean(out))


def reference_params() -> tuple[dict[str, object], int]:
    params: dict[str, object] = {}
    for line in (DATA / "train.conf").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "=" in line:
            key, value = (p.strip() for p in line.split("=", 1))
            if key in TRAIN_KEYS:
                params[key] = value
    rounds = int(str(params.pop("num_trees", 100)))
    params.update({"verbosity": -1, "num_threads": 2, "seed": 0})
    return params, rounds


def letor() -> dict[str, float]:
    xtr, ytr = load_svmlight_file(str(DATA / "rank.train"))
    xte, yte = load_svmlight_file(str(DATA / "rank.test"), n_features=xtr.shape[1])
    gtr = np.loadtxt(DATA / "rank.train.query", dtype=int)
    gte = np.loadtxt(DATA / "rank.test.query", dtype=int)
    xtr, xte = xtr.toarray(), xte.toarray()
    out: dict[str, float] = {}
    params, rounds = reference_params()
    ref = lgb.train(params, lgb.Dataset(xtr, ytr, group=gtr), num_boost_round=rounds)
    ref_scores = ref.predict(xte)
    ours = LambdaRanker(n_estimators=100, num_leaves=31, max_depth=-1, min_child_samples=50)
    ours.fit(xtr, ytr, group=gtr)
    fast = LambdaRanker().fit(xtr, ytr, group=gtr)  # the serving configuration: 60 x depth 5
    for k in (1, 3, 5, 10):
        # Headline: the configuration the pipeline serves; "_large" has the reference's size.
        out[f"lambdarank.ndcg@{k}"] = lightgbm_ndcg(fast.predict(xte), yte, gte, k)
        out[f"lightgbm_reference.ndcg@{k}"] = lightgbm_ndcg(ref_scores, yte, gte, k)
        out[f"lambdarank_large.ndcg@{k}"] = lightgbm_ndcg(ours.predict(xte), yte, gte, k)
    return out


def feeds(quick: bool) -> dict[str, float]:
    n_assets, n_users = (200, 60) if quick else (600, 300)
    train_sessions = 1500 if quick else 12000
    with tempfile.TemporaryDirectory() as root:
        world = SimWorld.build(
            n_assets=n_assets, n_users=n_users, seed=7, root=root, history=train_sessions
        )
        x, clicked, bought, groups = world.training_set(world.sessions(train_sessions))
        pctr = CtrModel(n_estimators=60).fit(x, clicked, feature_names=FEATURES)
        pcvr = CtrModel(name="ranking-pcvr", n_estimators=40).fit(x, bought, feature_names=FEATURES)
        ranker = LambdaRanker().fit(x, clicked, group=groups, feature_names=FEATURES)
        w = Weights(1.0, 2.0, 0.1)
        scorers = {
            "scorer": Scorer(pctr, pcvr, weights=w),
            "lambdamart": Scorer(pctr, pcvr, ranker, mode="lambdamart", weights=w),
        }
        ids = list(world.snap.ids)
        rows = world.snap.rows(ids)
        trust, boost = world.snap.trust[rows], np.zeros(len(rows))
        pop = popularity_score(
            world.snap.ctr_prior[rows], world.snap.cvr_prior[rows], trust, boost, w
        )
        totals: dict[str, list[float]] = {"scorer": [], "lambdamart": [], "popularity": []}
        for user in world.sim.users:
            truth = np.array([world.sim.true_affinity(user, a) for a in ids])
            feats = world.features(user, ids)
            for name, sc in scorers.items():
                s, _, _ = sc.score(feats, trust, boost, world.snap.cvr_prior[rows])
                totals[name].append(ndcg_at(truth[np.argsort(-s, kind="stable")], truth, 20))
            totals["popularity"].append(ndcg_at(truth[np.argsort(-pop, kind="stable")], truth, 20))
    return {
        "feed.scorer.ndcg@20": float(np.mean(totals["scorer"])),
        "feed.popularity.ndcg@20": float(np.mean(totals["popularity"])),
        "feed.lambdamart.ndcg@20": float(np.mean(totals["lambdamart"])),
        "feed.training_impressions": float(len(clicked)),
        "feed.training_ctr": float(clicked.mean()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"missing {DATA}", file=sys.stderr)
        return 1
    started = time.perf_counter()
    results = letor() | feeds(args.quick)
    results["wall_s"] = time.perf_counter() - started
    print(f"{'figure':36s} value")
    for key, value in results.items():
        print(f"{key:36s} {value:.4f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
