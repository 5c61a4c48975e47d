"""Recommendation quality on MovieLens-100k, Microsoft Recommenders' protocol.

Protocol: every rating is an implicit interaction (weight 1); a 75/25 split
stratified by user, exactly as ``python_stratified_split`` draws it (each
user's ratings ordered by a seeded uniform draw, the first floor(0.75 n) to
train); top-10 per user with the user's training items excluded; metrics as
``python_evaluation`` (see ``agora.recommend.metrics``: precision@k = hits/k,
recall@k = hits/|rel|, ndcg@k binary with ideal DCG over min(|rel|, k), map@k =
sum of precision at each hit / min(|rel|, k)); catalog coverage = distinct
recommended items / training items. Averaged over 3 random splits (seeds 42,
43, 44).

Hyper-parameters (EASE lambda, ALS, BPR) are chosen on a validation split
carved (80/20 per user) from each split's training data. ``hybrid`` is the
product's default hybrid (``recommend.hybrid_reranker="ltr"``,
``agora.recommend.ltr.LtrHybridRecommender``): the union of EASE's, ALS's,
RP3beta's and item-kNN's top-100 candidates re-ranked by LightGBM
``rank_xendcg`` models trained on ten 80/20 folds of the training part (five
bags in cross-validation over users, trees at the peak of their mean
validation curve), with the side information the platform has (asset
category = the movie's genres; publication time = its release year; user
attributes = age, gender, occupation; interaction times of the training part
only). ``blend`` is the alternative
(``hybrid_reranker="blend"``, ``fit_hybrid``): the same components' z-scores
blended with weights searched on two 80/20 folds of the training part. The
test part is only used for the reported figures.

Anchors (published, same protocol): BiVAE 0.475 NDCG@10 / 0.412 P@10, BPR
(cornac) 0.442 / 0.388, LightGCN 0.420, NCF 0.396, SAR 0.382 / 0.331; Gorse
WRMF 0.416 NDCG@10.

The PyTorch models (``transformer``, ``neural_cf``, ``graph``) run with the
registry's configuration (``agora.recommend.registry.neural_models``); their
number of epochs (full-batch steps for ``graph``) is chosen on the first
split's validation part (the epoch of the best validation NDCG@10, read off
one training curve), then each is refitted on the whole training part. The
transformer learns from each user's training ratings in time order, its item
table seeded with the movies' genre + year vectors.

Second protocol, ``time_split``: leave-last-out by timestamp (each user's
last rating is the test item, ties in time broken by item id), full ranking
over every item the user has not rated in training (no sampled negatives),
HR@10 and NDCG@10 for every algorithm; hyper-parameters (the same grids, and
the epochs of the PyTorch models) chosen on the training part's own
leave-last-out validation. ``best_nonsequential`` is the best NDCG@10 of the
non-sequential models on it.

Run: ``.venv/bin/python benchmarks/recommend_quality.py [--quick] [--only a,b]
[--protocol random|time|both]``; ``--only`` or ``--protocol`` runs a part and
merges its figures into ``recommend_quality.json`` (the other figures kept).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from agora.config import RecommendSettings  # noqa: E402
from agora.recommend.base import InteractionMatrix  # noqa: E402
from agora.recommend.ease import EaseRecommender  # noqa: E402
from agora.recommend.jobs import fit_hybrid, holdout  # noqa: E402
from agora.recommend.knn import ItemKnnRecommender  # noqa: E402
from agora.recommend.ltr import LtrHybridRecommender  # noqa: E402
from agora.recommend.matrix import MatrixRecommender  # noqa: E402
from agora.recommend.metrics import catalog_coverage, ranking_metrics  # noqa: E402
from agora.recommend.mf import AlsRecommender, BprRecommender  # noqa: E402
from agora.recommend.popularity import PopularityRecommender  # noqa: E402
from agora.recommend.registry import HYBRID_COMPONENTS, neural_models  # noqa: E402
from agora.recommend.rp3 import Rp3BetaRecommender  # noqa: E402
from agora.recommend.sasrec import TransformerRecommender  # noqa: E402
from agora.recommend.side_info import SideInfo  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "movielens-100k-recbole" / "ml-100k.inter"
ITEMS = DATA.with_suffix(".item")
USERS = DATA.with_suffix(".user")
K = 10
# "hybrid" is the product's default re-ranker (``recommend.hybrid_reranker``);
# the last row is the other one.
DEFAULT_RERANKER = RecommendSettings().hybrid_reranker
OTHER_RERANKER = "blend" if DEFAULT_RERANKER == "ltr" else "ltr"
NEURAL = ("transformer", "neural_cf", "graph")
SEQUENTIAL = ("transformer",)
BASELINES = ("popularity", "als", "bpr", "ease", "item_knn", "rp3beta")
NAMES = (*BASELINES, *NEURAL, "hybrid", OTHER_RERANKER)
TIME_NAMES = (*BASELINES, *NEURAL)
ANCHORS = {
    "anchor.lightgcn.ndcg@10": 0.420,
    "anchor.ncf.ndcg@10": 0.396,
    "anchor.bivae.ndcg@10": 0.475,
    "anchor.bivae.precision@10": 0.412,
    "anchor.bpr_cornac.ndcg@10": 0.442,
    "anchor.bpr_cornac.precision@10": 0.388,
    "anchor.sar.ndcg@10": 0.382,
    "anchor.sar.precision@10": 0.331,
    "anchor.gorse_wrmf.ndcg@10": 0.416,
}


def load_ratings() -> list[tuple[str, str]]:
    return [(u, i) for u, i, _ in load_events()]


def load_events() -> list[tuple[str, str, float]]:
    """(user, movie, timestamp) in file order."""
    events = []
    with DATA.open() as fh:
        next(fh)
        for line in fh:
            user, item, _rating, ts = line.rstrip("\n").split("\t")
            events.append((user, item, float(ts)))
    return events


Side = tuple[
    dict[str, list[str]],
    dict[str, dict[str, Any]],
    dict[tuple[str, str], float],
    dict[str, float],
]


def load_side() -> Side:
    """Genres and release time per movie, attributes per user, rating time per (user, movie).

    A movie's release year is its publication time (the catalog's listing
    time in the product), taken at mid-year: the file has the year only.
    """
    genres: dict[str, list[str]] = {}
    released: dict[str, float] = {}
    with ITEMS.open(encoding="latin-1") as fh:
        next(fh)
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            genres[parts[0]] = parts[3].split() if len(parts) > 3 else []
            year = parts[2].strip() if len(parts) > 2 else ""
            if year.isdigit():
                released[parts[0]] = datetime(int(year), 7, 1, tzinfo=UTC).timestamp()
    users: dict[str, dict[str, Any]] = {}
    with USERS.open() as fh:
        next(fh)
        for line in fh:
            uid, age, gender, occupation, _zip = line.rstrip("\n").split("\t")
            users[uid] = {"age": float(age), "gender": gender, "occupation": occupation}
    times: dict[tuple[str, str], float] = {}
    with DATA.open() as fh:
        next(fh)
        for line in fh:
            user, item, _rating, ts = line.rstrip("\n").split("\t")
            times[(user, item)] = float(ts)
    return genres, users, times, released


def side_info(data: InteractionMatrix, side: Side) -> SideInfo:
    """The platform's side information for the training part (rating times of its cells only)."""
    genres, users, times, released = side
    m = data.matrix.tocoo()
    vals = [times[(data.user_ids[u], data.item_ids[i])] for u, i in zip(m.row, m.col, strict=True)]
    tm = sp.csr_matrix((vals, (m.row, m.col)), shape=m.shape)
    return SideInfo(genres, users, tm, item_times=released)


def stratified_split(
    pairs: list[tuple[str, str]], seed: int, ratio: float = 0.75
) -> tuple[InteractionMatrix, dict[str, set[str]]]:
    """``python_stratified_split`` of Microsoft Recommenders, reproduced exactly.

    Each rating (in file order, as their MovieLens loader reads it) gets
    ``np.random.rand`` after ``np.random.seed(seed)``; each user's ratings are
    ordered by that draw and the ones whose rank / count <= ``ratio`` train, so
    a user with n ratings keeps floor(0.75 n) of them (not round: 15 of 21).
    """
    np.random.seed(seed)  # their splitter seeds the global generator, so does this copy
    draw = np.random.rand(len(pairs))
    users = np.array([int(u) for u, _ in pairs])
    order = np.lexsort((draw, users))
    counts = np.bincount(users)
    train: list[tuple[str, str, float]] = []
    test: dict[str, set[str]] = {}
    position = 0
    previous = -1
    for k in order:
        u = users[k]
        position = position + 1 if u == previous else 1
        previous = u
        user, item = pairs[k]
        if position / counts[u] <= ratio:
            train.append((user, item, 1.0))
        else:
            test.setdefault(user, set()).add(item)
    return InteractionMatrix.from_triples(train), test


def top_lists(model: Any, users: list[str]) -> dict[str, list[str]]:
    """Top-``K`` unseen items per user; the transformer scores users in batches."""
    if isinstance(model, TransformerRecommender):
        return {u: [i.asset_id for i in r] for u, r in model.recommend_batch(users, K).items()}
    return {u: [i.asset_id for i in model.recommend(u, K)] for u in users}


def evaluate(model: Any, truth: dict[str, set[str]], n_items: int) -> dict[str, float]:
    preds = top_lists(model, list(truth))
    out = ranking_metrics(preds, truth, k=K)
    out["coverage"] = catalog_coverage(preds, n_items)
    return out


def candidates(quick: bool) -> dict[str, list[MatrixRecommender]]:
    """Hyper-parameter grids searched on the validation split.

    EASE with ``dropout > 0`` is Steck's DLAE (popularity-scaled L2). BPR:
    implicit's SGD overfits past ~100 epochs at learning rate 0.005 (0.36 NDCG@10
    at 100 epochs, 0.30 at 210), so the grid is around that point.
    """
    it = 15
    return {
        "ease": [
            EaseRecommender(lam, dropout=p)
            for lam, p in ((300.0, 0.0), (500.0, 0.0), (200.0, 0.5), (300.0, 0.5), (500.0, 0.33))
        ],
        "item_knn": [ItemKnnRecommender(k) for k in (50, 100, 200)],
        "rp3beta": [Rp3BetaRecommender(a, b) for a, b in ((1.0, 0.5), (0.8, 0.4), (1.0, 0.6))],
        "als": [
            AlsRecommender(f, regularization=r, alpha=a, iterations=it, num_threads=1)
            for f, r, a in ((64, 0.05, 2.0), (200, 20.0, 2.0), (200, 30.0, 4.0), (300, 40.0, 6.0))
        ],
        "bpr": [
            BprRecommender(64, learning_rate=lr, regularization=0.01, iterations=n, num_threads=1)
            for lr, n in ((0.005, 100), (0.005, 150), (0.01, 50))
        ],
        "popularity": [PopularityRecommender()],
    }


def tune(
    data: InteractionMatrix, quick: bool, names: tuple[str, ...] = BASELINES, *, val: Any = None
) -> dict[str, MatrixRecommender]:
    """The best configuration of each algorithm in ``names`` by validation NDCG@10.

    ``val``: (training part, held-out items) to validate on; default a random
    80/20 per-user holdout of ``data``.
    """
    part, truth = val if val is not None else holdout(data, ratio=0.2, seed=0)
    best: dict[str, MatrixRecommender] = {}
    for name, grid in candidates(quick).items():
        if name not in names:
            continue
        scored = [(evaluate(m.fit(part), truth, part.shape[1])["ndcg@10"], m) for m in grid]
        best[name] = max(scored, key=lambda x: x[0])[1]
        print(f"  tuned {name}: {best[name].params()}", flush=True)
    return best


def fresh(model: MatrixRecommender) -> MatrixRecommender:
    return type(model)(**_init_args(model))


def _init_args(model: MatrixRecommender) -> dict[str, Any]:
    import inspect

    sig = inspect.signature(type(model).__init__)
    return {p: getattr(model, p) for p in sig.parameters if p != "self" and hasattr(model, p)}


# -- the PyTorch models ---------------------------------------------------------------
Sequences = dict[str, list[str]]


def content_vectors(side: Side) -> dict[str, np.ndarray]:
    """A movie's content vector: its genres (one-hot) and release year, as in the contract."""
    genres, _users, _times, released = side
    vocabulary = sorted({g for gs in genres.values() for g in gs})
    years = {i: datetime.fromtimestamp(t, UTC).year for i, t in released.items()}
    return {
        i: np.array([g in gs for g in vocabulary] + [(years.get(i, 1990) - 1990) / 20.0], float)
        for i, gs in genres.items()
    }


def fit_neural(
    name: str,
    data: InteractionMatrix,
    seqs: Sequences,
    emb: dict[str, np.ndarray],
    *,
    epochs: int | None = None,
    on_epoch: Any = None,
) -> Any:
    """The registry's ``name`` model (``epochs`` overridden) fitted on ``data``."""
    model: Any = neural_models()[name]
    if epochs is not None:
        model.epochs = epochs
    if isinstance(model, TransformerRecommender):
        # Only the training part's items: a catalog item without a rating is not
        # what this protocol tests (the test items are all rated in training).
        known = {i: v for i, v in emb.items() if i in data.item_index}
        return model.fit(data, sequences=seqs, embeddings=known, on_epoch=on_epoch)
    return model.fit(data, on_epoch=on_epoch)


def tune_epochs(
    name: str, part: InteractionMatrix, seqs: Sequences, emb: dict[str, np.ndarray], truth: Any
) -> int:
    """Epochs at the best validation NDCG@10 of one training curve (checked every 1/10th)."""
    max_epochs = neural_models()[name].epochs  # type: ignore[attr-defined]
    every = max(1, max_epochs // 10)
    curve: dict[int, float] = {}

    def check(epoch: int, model: Any) -> None:
        if epoch % every == 0:
            curve[epoch] = evaluate(model, truth, part.shape[1])["ndcg@10"]

    fit_neural(name, part, seqs, emb, epochs=max_epochs, on_epoch=check)
    best = max(curve, key=lambda e: curve[e])
    print(f"  tuned {name}: {best} epochs (validation curve {curve})", flush=True)
    return best


def training_sequences(data: InteractionMatrix, times: dict[tuple[str, str], float]) -> Sequences:
    """Each user's training items in time order (ties by item id), from the rating times."""
    seqs = {}
    for u, user in enumerate(data.user_ids):
        row = data.matrix[u]
        items = [data.item_ids[j] for j in row.indices]
        seqs[user] = sorted(items, key=lambda i: (times[(user, i)], int(i)))
    return seqs


# -- protocol 1: random 75/25 splits ----------------------------------------------------
def run(quick: bool, names: tuple[str, ...] = NAMES) -> dict[str, float]:
    pairs = load_ratings()
    side = load_side()
    emb = content_vectors(side)
    seeds = (42,) if quick else (42, 43, 44)
    totals: dict[str, list[float]] = {}
    fit_s: dict[str, list[float]] = {}
    epochs: dict[str, int] = {}
    for seed in seeds:
        print(f"split seed={seed}", flush=True)
        data, truth = stratified_split(pairs, seed)
        need = {*names, *(HYBRID_COMPONENTS if {"hybrid", OTHER_RERANKER} & set(names) else ())}
        best = tune(data, quick, tuple(n for n in BASELINES if n in need))
        seqs = training_sequences(data, side[2])
        part, val = holdout(data, ratio=0.2, seed=0)
        for name in (n for n in NEURAL if n in names and n not in epochs):
            epochs[name] = tune_epochs(name, part, training_sequences(part, side[2]), emb, val)
        for name in (n for n in NAMES if n in names):
            t0 = time.perf_counter()
            parts = {k: fresh(best[k]) for k in HYBRID_COMPONENTS if k in best}
            reranker = DEFAULT_RERANKER if name == "hybrid" else name
            if reranker == "blend":
                # recommend.hybrid_reranker="blend" (jobs.fit_hybrid): z-score
                # weights searched on two 80/20 folds of the training part, then
                # refit on all of it.
                model: Any = fit_hybrid(data, parts, seed=1)
                print(f"  blend weights: {model.weights}", flush=True)
            elif reranker == "ltr":
                # recommend.hybrid_reranker="ltr" (jobs.fit_product_hybrid): the
                # components' candidates re-ranked by bagged LightGBM rankers
                # trained on folds of the training part.
                model = LtrHybridRecommender(parts, seed=1).fit(data, side_info(data, side))
                print(f"  ltr ranker: {model.params()['trees']} trees", flush=True)
            elif name in NEURAL:
                model = fit_neural(name, data, seqs, emb, epochs=epochs[name])
            else:
                model = fresh(best[name]).fit(data)
            fit_s.setdefault(name, []).append(time.perf_counter() - t0)
            scores = evaluate(model, truth, data.shape[1])
            print(f"  {name}: ndcg@10 {scores['ndcg@10']:.4f} p@10 {scores['precision@10']:.4f}")
            for metric, value in scores.items():
                totals.setdefault(f"{name}.{metric}", []).append(value)
    out = {k: round(float(np.mean(v)), 4) for k, v in totals.items()}
    out.update({f"{n}.fit_s": round(float(np.mean(v)), 2) for n, v in fit_s.items()})
    out.update({f"{n}.epochs": float(e) for n, e in epochs.items()})
    out["splits"] = len(seeds)
    out.update(ANCHORS)
    return out


# -- protocol 2: leave-last-out by time -------------------------------------------------
def leave_last_out(seqs: Sequences) -> tuple[Sequences, dict[str, set[str]]]:
    """(every item but the last of each user, the last one); users with one item only train."""
    train = {u: s[:-1] if len(s) > 1 else s for u, s in seqs.items()}
    test = {u: {s[-1]} for u, s in seqs.items() if len(s) > 1}
    return train, test


def matrix_of(seqs: Sequences) -> InteractionMatrix:
    return InteractionMatrix.from_triples((u, i, 1.0) for u, s in seqs.items() for i in s)


def run_time_split(quick: bool, names: tuple[str, ...] = TIME_NAMES) -> dict[str, float]:
    """HR@10 and NDCG@10 of ``names`` on MovieLens-100k's leave-last-out time split."""
    events = load_events()
    by_user: dict[str, list[tuple[float, int, str]]] = {}
    for user, item, ts in events:
        by_user.setdefault(user, []).append((ts, int(item), item))
    seqs = {u: [i for _, _, i in sorted(v)] for u, v in by_user.items()}
    train_seqs, test = leave_last_out(seqs)
    part_seqs, val = leave_last_out(train_seqs)
    data, part = matrix_of(train_seqs), matrix_of(part_seqs)
    emb = content_vectors(load_side())
    print("time split (leave-last-out)", flush=True)
    best = tune(data, quick, tuple(n for n in BASELINES if n in names), val=(part, val))
    out: dict[str, float] = {}
    for name in (n for n in TIME_NAMES if n in names):
        t0 = time.perf_counter()
        if name in NEURAL:
            epochs = tune_epochs(name, part, part_seqs, emb, val)
            model: Any = fit_neural(name, data, train_seqs, emb, epochs=epochs)
            out[f"{name}.time_split.epochs"] = float(epochs)
        else:
            model = fresh(best[name]).fit(data)
        scores = ranking_metrics(top_lists(model, list(test)), test, k=K)
        # One held-out item: HR@10 is recall@10.
        out[f"{name}.time_split.hr@10"] = round(scores["recall@10"], 4)
        out[f"{name}.time_split.ndcg@10"] = round(scores["ndcg@10"], 4)
        out[f"{name}.time_split.fit_s"] = round(time.perf_counter() - t0, 2)
        print(f"  {name}: hr@10 {scores['recall@10']:.4f} ndcg@10 {scores['ndcg@10']:.4f}")
    out["time_split.users"] = float(len(test))
    return out


def best_nonsequential(result: dict[str, Any]) -> dict[str, float]:
    """The best non-sequential NDCG@10 on the time split among the figures in ``result``."""
    figures = {
        n: result[f"{n}.time_split.ndcg@10"]
        for n in TIME_NAMES
        if n not in SEQUENTIAL and f"{n}.time_split.ndcg@10" in result
    }
    if not figures:
        return {}
    name = max(figures, key=lambda n: figures[n])
    return {
        "best_nonsequential.time_split.ndcg@10": figures[name],
        "best_nonsequential.time_split.hr@10": result[f"{name}.time_split.hr@10"],
    }


def print_tables(result: dict[str, Any]) -> None:
    head = ("ndcg@10", "p@10", "r@10", "map@10", "cover", "fit s")
    print(f"\n{'algorithm':<12}" + "".join(f"{h:>9}" for h in head))
    for n in NAMES:
        if f"{n}.ndcg@10" not in result:
            continue
        row = [
            result[f"{n}.{m}"]
            for m in ("ndcg@10", "precision@10", "recall@10", "map@10", "coverage")
        ]
        print(f"{n:<12}" + "".join(f"{v:>8.4f} " for v in row) + f"{result[f'{n}.fit_s']:>7.2f}")
    print(
        "anchors: BiVAE 0.475/0.412, BPR 0.442/0.388, LightGCN 0.420, NCF 0.396, "
        "SAR 0.382/0.331, Gorse WRMF 0.416 (NDCG/P@10)"
    )
    rows = [n for n in TIME_NAMES if f"{n}.time_split.ndcg@10" in result]
    if rows:
        print(f"\ntime split (leave-last-out)\n{'algorithm':<12}{'hr@10':>9}{'ndcg@10':>9}")
        for n in rows:
            hr, nd = result[f"{n}.time_split.hr@10"], result[f"{n}.time_split.ndcg@10"]
            print(f"{n:<12}{hr:>9.4f}{nd:>9.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one split, fewer iterations")
    parser.add_argument(
        "--only", default="", help="comma-separated algorithms to run (default: all)"
    )
    parser.add_argument("--protocol", choices=("random", "time", "both"), default="both")
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"MovieLens-100k not found at {DATA}")
    only = tuple(n for n in args.only.split(",") if n)
    unknown = set(only) - set(NAMES)
    if unknown:
        sys.exit(f"unknown algorithms {sorted(unknown)}; choose from {list(NAMES)}")
    result: dict[str, Any] = {}
    if args.protocol in ("random", "both"):
        result.update(run(args.quick, only or NAMES))
    if args.protocol in ("time", "both"):
        result.update(run_time_split(args.quick, tuple(n for n in only or TIME_NAMES)))
    out = ROOT / "benchmarks" / "results" / "recommend_quality.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    name = out if not args.quick else out.with_name("recommend_quality.quick.json")
    partial = bool(only) or args.protocol != "both"
    if partial and name.exists():  # a part: merged into the figures already there
        result = json.loads(name.read_text()) | result
    result.update(best_nonsequential(result))
    print_tables(result)
    name.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"wrote {name}")


if __name__ == "__main__":
    main()
