"""Trained multi-label tag heads: one-vs-rest logistic regression over asset embeddings.

Input rows are ``features.head_rows`` (L2-normalised image features, style
statistics, image facts). Before the regression each column block is
standardised with the mean and standard deviation of the *whole catalog*
(every stored head input, labelled or not: unsupervised statistics, so a
handful of labelled rows does not decide the scale), L2-normalised and
weighted (``BLOCK_WEIGHTS``). Each taxonomy tag with at least
one positive and one negative example gets a binary logistic regression
(class-balanced, since confirmed tags are rare against the rest). With at
least ``calibrate_min`` positives the head's probabilities are calibrated by
Platt scaling on cross-validated decision values (``CalibratedClassifierCV``,
sigmoid); below that there is too little data to fit a calibrator and the
regularised logistic output is used as it is, and a tag with fewer than
``confident_min`` positives is scaled below the cloud threshold (one or two
examples cannot back a high-confidence claim).

Few-shot help from the catalog: the confirmed tags are also spread over a
nearest-neighbour graph of the labelled rows plus (up to ``max_reference``)
unlabelled catalog rows (``agora.tagging.propagation``), and each head's
probability is blended with its neighbourhood score
(``propagation_weight``). At k = 1 on the Kenney sprites this took top-3
precision from 0.81 to 0.91 (0.88 on assets outside the catalog).

The fitted ``TagHeads`` is a plain picklable object saved through the model
store (``agora.tagging.training``); with the reference rows kept in float16 a
5,000-row catalog adds about 20 MB.

Example:
    >>> heads = TagHeads().fit(X, [{("object_type", "tank")}, {("object_type", "tile")}])
    ...  # doctest: +SKIP
    >>> heads.predict_proba(X[:1])  # doctest: +SKIP
    {('object_type', 'tank'): array([0.81]), ...}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression

from agora.mlops.artifact_state import VersionedState
from agora.tagging.linear import LinearBank
from agora.tagging.propagation import NeighbourhoodLabels

TagKey = tuple[str, str]
# Weight of each block of ``features.HEAD_BLOCKS`` after standardisation and L2 norm
# (chosen on the Kenney sprites, see benchmarks/tagging_quality.py).
BLOCK_WEIGHTS = {"features": 1.0, "style7": 0.5, "style10": 0.5, "style14": 0.5, "facts": 1.0}


@dataclass
class BlockScaler:
    """Per-column standardisation from catalog statistics, then per-block L2 norm and weight."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, rows: np.ndarray) -> BlockScaler:
        return cls(rows.mean(axis=0), rows.std(axis=0) + 1e-6)

    def transform(self, rows: np.ndarray) -> np.ndarray:
        from agora.tagging.features import HEAD_BLOCKS

        z = (rows - self.mean) / self.std
        parts = []
        for name, start, stop in HEAD_BLOCKS:
            block = z[:, start:stop] if name != "features" else rows[:, start:stop]
            norm = np.linalg.norm(block, axis=1, keepdims=True)
            parts.append(BLOCK_WEIGHTS[name] * block / np.maximum(norm, 1e-12))
        return np.hstack(parts).astype(np.float32)


@dataclass
class TagHeads(VersionedState):
    """One-vs-rest logistic heads, one per (category, label) with training data.

    Stored format 2: every field, the bank compiled. Format 1 (pickled before
    versioning) may lack the bank, the propagation and later settings; its
    loader fills them in (:func:`_heads_v1`).
    """

    FORMAT_VERSION = 2

    C: float = 10.0
    calibrate_min: int = 6
    # Heads with fewer positives than this are scaled by ``few_shot_ceiling``.
    confident_min: int = 3
    few_shot_ceiling: float = 0.75
    max_iter: int = 2000
    # Share of the neighbourhood score in each tag's probability (0: logistic only).
    propagation_weight: float = 0.65
    neighbours: int = 30
    # Catalog rows kept as references (sampled beyond this): bounds fit time and model size.
    max_reference: int = 5000
    seed: int = 0
    spread: NeighbourhoodLabels | None = None
    bank: LinearBank | None = None  # the heads as one product (serving)
    heads: dict[TagKey, Any] = field(default_factory=dict)
    calibrated: dict[TagKey, bool] = field(default_factory=dict)
    positives: dict[TagKey, int] = field(default_factory=dict)
    dim: int = 0
    scaler: BlockScaler | None = None

    def fit(
        self, x: np.ndarray, labels: Sequence[set[TagKey]], catalog: np.ndarray | None = None
    ) -> TagHeads:
        """Fit from rows ``x`` and each row's confirmed tags; returns self.

        ``catalog``: every head input known (labelled or not) for the block
        statistics; the labelled rows themselves when omitted.
        """
        x = np.asarray(x, dtype=np.float32)
        if len(x) != len(labels):
            raise ValueError(f"{len(x)} rows but {len(labels)} label sets")
        self.dim = x.shape[1] if x.ndim == 2 else 0
        self.scaler = BlockScaler.fit(np.asarray(catalog if catalog is not None else x, np.float32))
        raw = x
        x = self.scaler.transform(raw)
        self.heads, self.calibrated, self.positives = {}, {}, {}
        for key in sorted({k for row in labels for k in row}):
            y = np.array([key in row for row in labels], dtype=np.int64)
            pos = int(y.sum())
            if pos == 0 or pos == len(y):
                continue  # a tag without negatives (or positives) cannot be learnt
            base = LogisticRegression(C=self.C, class_weight="balanced", max_iter=self.max_iter)
            if pos >= self.calibrate_min and len(y) - pos >= self.calibrate_min:
                head: Any = CalibratedClassifierCV(base, method="sigmoid", cv=3).fit(x, y)
                self.calibrated[key] = True
            else:
                head = base.fit(x, y)
                self.calibrated[key] = False
            self.heads[key] = head
            self.positives[key] = pos
        self.bank = LinearBank.compile([self.heads[key] for key in self.tags])
        self.spread = None
        if self.propagation_weight > 0 and self.heads:
            self.spread = self._fit_spread(raw, x, labels, catalog)
        return self

    def _fit_spread(
        self,
        raw: np.ndarray,
        x: np.ndarray,
        labels: Sequence[set[TagKey]],
        catalog: np.ndarray | None,
    ) -> NeighbourhoodLabels:
        """Label spreading over the labelled rows (``raw``, scaled ``x``) plus catalog rows."""
        assert self.scaler is not None
        keys = self.tags
        y = np.array([[key in row for key in keys] for row in labels], dtype=np.float32)
        refs = x
        if catalog is not None and len(catalog):
            # The catalog usually holds the labelled rows too: only the others are added.
            pool = np.asarray(catalog, dtype=np.float32)
            seen = {row.tobytes() for row in raw}
            extra = np.array([i for i, row in enumerate(pool) if row.tobytes() not in seen], int)
            room = max(self.max_reference - len(x), 0)
            if len(extra) > room:
                extra = np.random.default_rng(self.seed).choice(extra, room, replace=False)
            if len(extra):
                refs = np.vstack([x, self.scaler.transform(pool[np.sort(extra)])])
                y = np.vstack([y, np.zeros((len(refs) - len(x), len(keys)), np.float32)])
        spread = NeighbourhoodLabels(neighbours=self.neighbours)
        return spread.fit(refs, y, [category for category, _ in keys])

    @property
    def tags(self) -> list[TagKey]:
        return sorted(self.heads)

    def predict_proba(self, x: np.ndarray) -> dict[TagKey, np.ndarray]:
        """P(tag | row) for every learnt tag; no side effects."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim == 1:
            x = x[None, :]
        if self.heads and x.shape[1] != self.dim:
            raise ValueError(f"heads were fitted on {self.dim}-d rows, got {x.shape[1]}-d")
        if not self.heads or self.scaler is None:
            return {}
        x = self.scaler.transform(x)
        if self.bank is None:  # fit and every format's loader compile it
            raise ValueError("fitted heads without a compiled bank")
        probs = self.bank.predict(x)
        near = self.spread.score(x) if self.spread is not None else None
        out = {}
        for j, key in enumerate(self.tags):
            p = probs[:, j]
            if near is not None:
                p = (1 - self.propagation_weight) * p + self.propagation_weight * near[:, j]
            if self.positives.get(key, 0) < self.confident_min:
                # One or two examples cannot back a high-confidence claim (on the
                # Kenney sprites 21% of such >= 0.8 tags were wrong at k = 1): scaled
                # below the cloud threshold, so the router asks the cloud if allowed.
                p = p * self.few_shot_ceiling
            out[key] = p
        return out


def _heads_v1(state: dict[str, Any]) -> dict[str, Any]:
    """Format 1: heads pickled before versioning. The oldest have no bank (compiled
    here from the heads) and no propagation (``spread`` None: logistic heads only);
    settings added since take their defaults."""
    for f in fields(TagHeads):
        if f.name in state:
            continue
        if f.default is not MISSING:
            state[f.name] = f.default
        elif f.default_factory is not MISSING:
            state[f.name] = f.default_factory()
    if state["bank"] is None and state["heads"]:
        state["bank"] = LinearBank.compile([state["heads"][k] for k in sorted(state["heads"])])
    return state


TagHeads.STATE_LOADERS = {1: _heads_v1, 2: dict}
