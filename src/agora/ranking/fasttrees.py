"""Vectorised tree traversal of a LightGBM model: the ranking hot path's predictor.

LightGBM's ``Booster.predict`` pays a fixed per-call cost (input conversion,
thread setup) that dominates at 1,000 rows x a few dozen shallow trees. Here
every tree is flattened into arrays (split feature, threshold, children,
missing direction) padded to one node count, and all rows walk all trees at
once: ``max_depth`` rounds of numpy gathers. The output equals
``Booster.predict(raw_score=True)`` (tested); ``benchmarks/ranking_latency.py``
measures both and ``lleaves``/``treelite`` where installable, and the pipeline
uses whichever was fastest there (this one, see README).

Only numerical ``<=`` splits are supported (the ranking features are numeric);
a model with categorical splits raises ``ValueError`` and the caller keeps the
booster.

Example:
    >>> import lightgbm as lgb, numpy as np
    >>> x = np.random.default_rng(0).normal(size=(200, 3)); y = (x[:, 0] > 0).astype(int)
    >>> b = lgb.train({"objective": "binary", "verbosity": -1}, lgb.Dataset(x, y), 5)
    >>> f = CompiledForest.from_booster(b)
    >>> bool(np.allclose(f.predict_raw(x), b.predict(x, raw_score=True)))
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np

# LightGBM's missing-value types of a split, as stored in the node arrays
# (public: QuickScorer applies the same rules).
MISSING_NONE, MISSING_ZERO, MISSING_NAN = 0, 1, 2
_MISSING = {"None": MISSING_NONE, "Zero": MISSING_ZERO, "NaN": MISSING_NAN}


@dataclass
class CompiledForest:
    """All trees as padded node arrays; leaves are negative child ids ``~leaf``."""

    feature: np.ndarray  # (trees, nodes) int
    threshold: np.ndarray  # (trees, nodes) float
    left: np.ndarray  # (trees, nodes) int: >=0 internal node, <0 ~leaf index
    right: np.ndarray
    default_left: np.ndarray  # (trees, nodes) bool
    missing: np.ndarray  # (trees, nodes) int
    leaf_value: np.ndarray  # (trees, leaves) float
    depth: int
    n_features: int

    @classmethod
    def from_booster(cls, booster: lgb.Booster) -> CompiledForest:
        """The forest of one booster: ``predict_raw`` equals its raw score."""
        return cls.from_boosters([booster])

    @classmethod
    def from_boosters(
        cls,
        boosters: Sequence[lgb.Booster],
        *,
        num_iteration: int | None = None,
        scale: float = 1.0,
    ) -> CompiledForest:
        """One forest of several boosters' trees (each cut at ``num_iteration``).

        ``predict_raw`` is then ``scale`` times the sum of their raw scores:
        ``scale=1/len(boosters)`` gives a bagged ensemble's mean in one pass.
        """
        dumps = [b.dump_model(num_iteration=num_iteration) for b in boosters]
        trees = [t["tree_structure"] for dump in dumps for t in dump["tree_info"]]
        per_tree: list[tuple[list[Any], list[float]]] = []
        depth = 1
        for root in trees:
            nodes: list[Any] = []
            leaves: list[float] = []
            depth = max(depth, _flatten(root, nodes, leaves, 0))
            per_tree.append((nodes, leaves))
        n_nodes = max([1, *(len(n) for n, _ in per_tree)])
        n_leaves = max([1, *(len(v) for _, v in per_tree)])
        shape = (len(trees), n_nodes)
        out = cls(
            feature=np.zeros(shape, dtype=np.int64),
            threshold=np.zeros(shape),
            left=np.full(shape, -1, dtype=np.int64),
            right=np.full(shape, -1, dtype=np.int64),
            default_left=np.zeros(shape, dtype=bool),
            missing=np.zeros(shape, dtype=np.int64),
            leaf_value=np.zeros((len(trees), n_leaves)),
            depth=depth,
            n_features=max(int(d["max_feature_idx"]) for d in dumps) + 1,
        )
        for t, (nodes, leaves) in enumerate(per_tree):
            out.leaf_value[t, : len(leaves)] = np.asarray(leaves) * scale
            for i, (feat, thr, left, right, dleft, miss) in enumerate(nodes):
                out.feature[t, i], out.threshold[t, i] = feat, thr
                out.left[t, i], out.right[t, i] = left, right
                out.default_left[t, i], out.missing[t, i] = dleft, miss
        return out

    def predict_raw(self, x: np.ndarray) -> np.ndarray:
        """Sum of leaf values per row (LightGBM's raw score), numba-compiled when available."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        if _KERNEL is not None:
            out = np.zeros(len(x))
            _KERNEL(
                x, self.feature, self.threshold, self.left, self.right,
                self.default_left, self.missing, self.leaf_value, out,
            )  # fmt: skip
            return out
        return self.predict_raw_numpy(x)

    def predict_raw_numpy(self, x: np.ndarray) -> np.ndarray:
        """The same traversal in plain numpy (all rows and trees per depth level)."""
        x = np.asarray(x, dtype=np.float64)
        n, n_trees = len(x), self.feature.shape[0]
        tree = np.arange(n_trees)[None, :]
        node = np.zeros((n, n_trees), dtype=np.int64)  # current node, or ~leaf once done
        rows = np.arange(n)[:, None]
        for _ in range(self.depth):
            inner = node >= 0
            cur = np.where(inner, node, 0)
            feat = self.feature[tree, cur]
            value = x[rows, feat]
            miss = self.missing[tree, cur]
            nan = np.isnan(value)
            # LightGBM: with missing type None a NaN is treated as 0; with Zero, 0 and NaN
            # are missing; with NaN, only NaN is missing. Missing goes the default way.
            value = np.where(nan & (miss != MISSING_NAN), 0.0, value)
            is_missing = (nan & (miss == MISSING_NAN)) | (
                (miss == MISSING_ZERO) & ((value == 0.0) | nan)
            )
            go_left = np.where(
                is_missing, self.default_left[tree, cur], value <= self.threshold[tree, cur]
            )
            step = np.where(go_left, self.left[tree, cur], self.right[tree, cur])
            node = np.where(inner, step, node)
        leaf = ~node
        return np.asarray(self.leaf_value[tree, leaf].sum(axis=1))


def _walk(
    x: np.ndarray,
    feature: np.ndarray,
    threshold: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    default_left: np.ndarray,
    missing: np.ndarray,
    leaf_value: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled by numba; equality with LightGBM is tested
    for r in range(x.shape[0]):
        total = 0.0
        for t in range(feature.shape[0]):
            node = 0
            while node >= 0:
                v = x[r, feature[t, node]]
                m = missing[t, node]
                nan = v != v
                if nan and m != MISSING_NAN:
                    v = 0.0
                if (nan and m == MISSING_NAN) or (m == MISSING_ZERO and (v == 0.0 or nan)):
                    go_left = default_left[t, node]
                else:
                    go_left = v <= threshold[t, node]
                node = left[t, node] if go_left else right[t, node]
            total += leaf_value[t, ~node]
        out[r] = total


def _compile() -> Any:
    try:
        import numba
    except ImportError:  # numba ships with shap; without it the numpy path serves
        return None
    return numba.njit(cache=True, nogil=True)(_walk)


_KERNEL = _compile()


def _flatten(tree: dict[str, Any], nodes: list[Any], leaves: list[float], level: int) -> int:
    """Append ``tree`` in pre-order; returns its depth. Children are filled in after."""
    if "leaf_value" in tree or "split_feature" not in tree:
        leaves.append(float(tree.get("leaf_value", 0.0)))
        if not nodes:  # a single-leaf tree: one node whose both children are that leaf
            nodes.append([0, 0.0, ~(len(leaves) - 1), ~(len(leaves) - 1), True, 0])
        return level + 1
    if tree.get("decision_type", "<=") != "<=":
        raise ValueError("categorical splits are not supported by CompiledForest")
    me = len(nodes)
    nodes.append(
        [
            int(tree["split_feature"]),
            float(tree["threshold"]),
            0,
            0,
            bool(tree.get("default_left", True)),
            _MISSING.get(str(tree.get("missing_type", "None")), MISSING_NONE),
        ]
    )
    depth = level + 1
    for side, key in ((2, "left_child"), (3, "right_child")):
        child = tree[key]
        if "leaf_value" in child:
            leaves.append(float(child["leaf_value"]))
            nodes[me][side] = ~(len(leaves) - 1)
            depth = max(depth, level + 2)
        else:
            nodes[me][side] = len(nodes)
            depth = max(depth, _flatten(child, nodes, leaves, level + 1))
    return depth
