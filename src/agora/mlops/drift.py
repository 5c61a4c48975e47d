"""Data drift: PSI and two-sample KS per feature (and on model scores) against
the training snapshot.

The reference is fitted once from the training matrix and saved with the model
(``DriftReference.save``/``load``, one ``.npz``). ``compare`` then checks a
current matrix, column by column: each column is sorted once and every
statistic is read off the sorted arrays with ``np.searchsorted``, so there is
no Python loop over rows. A model's scores are just one more column.

PSI convention (the one the widely copied ``calculate_psi`` scripts and most
monitoring tools use): ``n_bins`` quantile bins of the reference (interior
edges only, so the outer bins are open and values outside the training range
still land somewhere), bins ``(-inf, e1], (e1, e2], ..., (ek, inf)``, duplicate
edges merged, proportions over the non-missing values, an empty bin's
proportion replaced by ``PSI_EPSILON`` = 1e-4, and
``PSI = sum((actual - expected) * ln(actual / expected))``.

KS: the statistic ``D = sup |F_ref - F_cur|`` is exact (ties included); the
p-value is the asymptotic one of ``scipy.stats.ks_2samp(method="asymp")``:
``kstwo.sf(D, round(m*n/(m+n)))``, computed with a corrected limiting law when
that effective n is large (see ``_ks_pvalue``). With a million rows KS flags very small
shifts, which is why PSI is reported beside it and both thresholds are
parameters.

Example:
    >>> rng = np.random.default_rng(0)
    >>> ref = DriftReference.fit(rng.normal(size=(5000, 2)), ["price", "score"])
    >>> report = ref.compare(rng.normal(size=(5000, 2)) + [0.5, 0.0])
    >>> [f.name for f in report.drifted]
    ['price']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import kolmogorov
from scipy.stats import kstwo

from agora.errors import InvalidInput

PSI_EPSILON = 1e-4
DEFAULT_BINS = 10
DEFAULT_PSI_THRESHOLD = 0.2
DEFAULT_KS_ALPHA = 0.05
KSTWO_MAX_N = 10_000  # above it the corrected limiting law replaces kstwo.sf

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class FeatureDrift:
    """Drift figures of one feature (or of the model score column)."""

    name: str
    psi: float
    ks_statistic: float
    ks_pvalue: float
    reference_missing_rate: float
    current_missing_rate: float
    drifted: bool
    edges: tuple[float, ...]
    reference_proportions: tuple[float, ...]
    current_proportions: tuple[float, ...]

    @property
    def missing_rate_change(self) -> float:
        return self.current_missing_rate - self.reference_missing_rate

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "psi": self.psi,
            "ks_statistic": self.ks_statistic,
            "ks_pvalue": self.ks_pvalue,
            "reference_missing_rate": self.reference_missing_rate,
            "current_missing_rate": self.current_missing_rate,
            "missing_rate_change": self.missing_rate_change,
            "drifted": self.drifted,
            "edges": list(self.edges),
            "reference_proportions": list(self.reference_proportions),
            "current_proportions": list(self.current_proportions),
        }


@dataclass(frozen=True)
class DriftReport:
    """Result of ``DriftReference.compare``: one ``FeatureDrift`` per column."""

    features: list[FeatureDrift]
    n_reference: int
    n_current: int
    psi_threshold: float
    ks_alpha: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def drifted(self) -> list[FeatureDrift]:
        return [f for f in self.features if f.drifted]

    def by_psi(self) -> list[FeatureDrift]:
        """Features sorted by PSI, largest first (NaN last)."""
        return sorted(self.features, key=lambda f: -f.psi if np.isfinite(f.psi) else np.inf)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "psi_threshold": self.psi_threshold,
            "ks_alpha": self.ks_alpha,
            "n_drifted": len(self.drifted),
            "features": [f.to_dict() for f in self.features],
        }


def _as_matrix(data: ArrayLike, what: str) -> FloatArray:
    try:
        matrix = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{what} must be numeric: {exc}") from exc
    if matrix.ndim != 2:
        raise InvalidInput(f"{what} must be a 2-D (rows x features) array, got {matrix.ndim}-D")
    if matrix.shape[0] == 0:
        raise InvalidInput(f"{what} has no rows")
    return matrix


def _sorted_valid(column: FloatArray) -> FloatArray:
    """Sorted non-missing values (np.sort puts NaN last, so a slice drops them)."""
    ordered = np.sort(column)
    return ordered[: ordered.size - int(np.count_nonzero(np.isnan(column)))]


def _quantile_edges(ordered: FloatArray, n_bins: int) -> FloatArray:
    """Interior quantile edges (numpy's default linear rule) with duplicates merged."""
    if ordered.size == 0:
        return np.empty(0)
    position = np.linspace(0.0, 1.0, n_bins + 1)[1:-1] * (ordered.size - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, ordered.size - 1)
    edges = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return np.unique(edges)


def _bin_proportions(ordered: FloatArray, edges: FloatArray) -> FloatArray:
    """Share of sorted values in (-inf, e1], (e1, e2], ..., (ek, inf)."""
    if ordered.size == 0:
        return np.full(edges.size + 1, np.nan)
    upto = np.searchsorted(ordered, edges, side="right")
    counts = np.diff(np.concatenate(([0], upto, [ordered.size])))
    return counts / ordered.size


def _psi_from_proportions(expected: FloatArray, actual: FloatArray) -> float:
    expected = np.where(expected == 0, PSI_EPSILON, expected)
    actual = np.where(actual == 0, PSI_EPSILON, actual)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _ks_sorted(ref: FloatArray, cur: FloatArray) -> float:
    """Exact two-sample KS statistic from two sorted, NaN-free samples.

    One ``searchsorted`` of the current values into the reference gives F_ref at
    every current value. The supremum of |F_ref - F_cur| is reached either at a
    distinct current value v (F_ref(v) - F_cur(v), both signs) or just below v
    (count(ref < v)/n_ref - count(cur < v)/n_cur, where F_cur is flat and F_ref
    highest); between current values F_cur is constant, so those two cover the
    union of both samples. count(ref < v) differs from count(ref <= v) only
    where v also occurs in the reference, so the second search runs on those.
    """
    n_ref, n_cur = ref.size, cur.size
    upto = np.searchsorted(ref, cur, side="right")
    below = upto
    tied = upto > 0
    tied[tied] = ref[upto[tied] - 1] == cur[tied]
    if tied.any():
        below = upto.copy()
        below[tied] = np.searchsorted(ref, cur[tied], side="left")
    new_value = np.empty(n_cur, dtype=bool)
    new_value[0] = True
    np.not_equal(cur[1:], cur[:-1], out=new_value[1:])
    if new_value.all():
        rank = np.arange(n_cur, dtype=np.float64)
        at = np.abs(upto / n_ref - (rank + 1) / n_cur).max()
        before = (below / n_ref - rank / n_cur).max()
        return float(max(at, before))
    first = np.flatnonzero(new_value)
    last = np.append(first[1:] - 1, n_cur - 1)
    at = np.abs(upto[last] / n_ref - (last + 1) / n_cur).max()
    before = (below[first] / n_ref - first / n_cur).max()
    return float(max(at, before))


def _ks_pvalue(statistic: float, n1: int, n2: int) -> float:
    """Asymptotic two-sided p-value, as scipy.stats.ks_2samp(method="asymp")."""
    m, n = sorted([float(n1), float(n2)], reverse=True)
    # scipy gives NaN for 1 vs 1 sample (round(0.5) == 0); one observation is the floor.
    en = max(np.round(m * n / (m + n)), 1.0)
    if en <= KSTWO_MAX_N:
        return float(np.clip(kstwo.sf(statistic, en), 0.0, 1.0))
    # kstwo.sf takes up to a second per call at n ~ 1e6 with small p. The limiting
    # Kolmogorov law with its 1/sqrt(n) and 1/n corrections (Vrbik 2018) is within
    # about 0.02/n of it: < 2e-6 above KSTWO_MAX_N, far inside the 1e-3 contract.
    root = np.sqrt(en)
    x = root * statistic
    return float(np.clip(kolmogorov(x + 1 / (6 * root) + (x - 1) / (4 * en)), 0.0, 1.0))


def psi(expected: ArrayLike, actual: ArrayLike, bins: int = DEFAULT_BINS) -> float:
    """PSI of one vector against a reference vector (quantile bins of ``expected``).

    >>> x = np.random.default_rng(1).normal(size=10_000)
    >>> psi(x, x)
    0.0
    """
    ref = _sorted_valid(np.asarray(expected, dtype=np.float64).ravel())
    cur = _sorted_valid(np.asarray(actual, dtype=np.float64).ravel())
    if ref.size == 0 or cur.size == 0:
        raise InvalidInput("psi needs at least one non-missing value on each side")
    edges = _quantile_edges(ref, bins)
    return _psi_from_proportions(_bin_proportions(ref, edges), _bin_proportions(cur, edges))


def ks_2samp(a: ArrayLike, b: ArrayLike) -> tuple[float, float]:
    """Two-sample KS ``(statistic, asymptotic p-value)``; NaNs are dropped.

    >>> s, p = ks_2samp([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    >>> s
    0.0
    """
    sa = _sorted_valid(np.asarray(a, dtype=np.float64).ravel())
    sb = _sorted_valid(np.asarray(b, dtype=np.float64).ravel())
    if sa.size == 0 or sb.size == 0:
        raise InvalidInput("ks_2samp needs at least one non-missing value on each side")
    statistic = _ks_sorted(sa, sb)
    return statistic, _ks_pvalue(statistic, sa.size, sb.size)


@dataclass
class DriftReference:
    """The training snapshot a model's inputs are checked against.

    Holds, per feature: quantile edges, reference bin proportions, missing rate
    and the sorted reference values (for KS). ``sample_size`` caps the rows kept
    for KS (a seeded uniform sample, same rows for every feature) when the saved
    file must stay small; PSI proportions always come from the full data.
    """

    feature_names: list[str]
    edges: FloatArray  # (n_features, n_bins - 1), NaN-padded
    proportions: FloatArray  # (n_features, n_bins), zero-padded
    missing_rate: FloatArray  # (n_features,)
    sorted_values: FloatArray  # (n_features, n_kept), each row sorted, NaN last
    n_valid: NDArray[np.int64]  # (n_features,) non-missing values in sorted_values
    n_rows: int
    n_bins: int = DEFAULT_BINS

    @classmethod
    def fit(
        cls,
        reference: ArrayLike,
        feature_names: Sequence[str] | None = None,
        n_bins: int = DEFAULT_BINS,
        sample_size: int | None = None,
        seed: int = 0,
    ) -> DriftReference:
        matrix = _as_matrix(reference, "reference")
        n_rows, n_features = matrix.shape
        names = (
            list(feature_names)
            if feature_names is not None
            else [f"f{i}" for i in range(n_features)]
        )
        if len(names) != n_features:
            raise InvalidInput(f"{len(names)} feature names for {n_features} reference columns")
        if len(set(names)) != len(names):
            raise InvalidInput("feature names must be unique")
        if n_bins < 2:
            raise InvalidInput("n_bins must be at least 2")
        keep = None
        if sample_size is not None and sample_size < n_rows:
            keep = np.sort(
                np.random.default_rng(seed).choice(n_rows, size=sample_size, replace=False)
            )
        n_kept = n_rows if keep is None else keep.size
        edges = np.full((n_features, n_bins - 1), np.nan)
        proportions = np.zeros((n_features, n_bins))
        missing = np.zeros(n_features)
        sorted_values = np.full((n_features, n_kept), np.nan)
        n_valid = np.zeros(n_features, dtype=np.int64)
        for j in range(n_features):  # columns, never rows: each step is whole-column numpy
            ordered = _sorted_valid(matrix[:, j])
            missing[j] = 1.0 - ordered.size / n_rows
            feature_edges = _quantile_edges(ordered, n_bins)
            edges[j, : feature_edges.size] = feature_edges
            proportions[j, : feature_edges.size + 1] = _bin_proportions(ordered, feature_edges)
            kept = ordered if keep is None else _sorted_valid(matrix[keep, j])
            sorted_values[j, : kept.size] = kept
            n_valid[j] = kept.size
        return cls(names, edges, proportions, missing, sorted_values, n_valid, n_rows, n_bins)

    def compare(
        self,
        current: ArrayLike,
        psi_threshold: float = DEFAULT_PSI_THRESHOLD,
        ks_alpha: float = DEFAULT_KS_ALPHA,
    ) -> DriftReport:
        """Drift of ``current`` (same columns, same order) against this reference.

        A feature is drifted when PSI > ``psi_threshold`` or the KS p-value <
        ``ks_alpha``. A side with no non-missing values gives NaN figures.
        """
        matrix = _as_matrix(current, "current")
        if matrix.shape[1] != len(self.feature_names):
            raise InvalidInput(
                f"current has {matrix.shape[1]} columns, "
                f"the reference has {len(self.feature_names)}"
            )
        features = []
        for j, name in enumerate(self.feature_names):
            ordered = _sorted_valid(matrix[:, j])
            n_edges = int(np.count_nonzero(~np.isnan(self.edges[j])))
            feature_edges = self.edges[j, :n_edges]
            expected = self.proportions[j, : n_edges + 1]
            actual = _bin_proportions(ordered, feature_edges)
            ref = self.sorted_values[j, : self.n_valid[j]]
            if ordered.size and ref.size:
                value_psi = _psi_from_proportions(expected, actual)
                statistic = _ks_sorted(ref, ordered)
                pvalue = _ks_pvalue(statistic, ref.size, ordered.size)
            else:
                value_psi = statistic = pvalue = float("nan")
            features.append(
                FeatureDrift(
                    name=name,
                    psi=value_psi,
                    ks_statistic=statistic,
                    ks_pvalue=pvalue,
                    reference_missing_rate=float(self.missing_rate[j]),
                    current_missing_rate=1.0 - ordered.size / matrix.shape[0],
                    drifted=bool(value_psi > psi_threshold or pvalue < ks_alpha),
                    edges=tuple(float(e) for e in feature_edges),
                    reference_proportions=tuple(float(p) for p in expected),
                    current_proportions=tuple(float(p) for p in actual),
                )
            )
        return DriftReport(features, self.n_rows, matrix.shape[0], psi_threshold, ks_alpha)

    def save(self, path: str | Path) -> Path:
        """Write one ``.npz`` (no pickle) to store beside the model's artifacts."""
        target = Path(path)
        with target.open("wb") as out:
            np.savez(
                out,
                feature_names=np.array(self.feature_names, dtype=np.str_),
                edges=self.edges,
                proportions=self.proportions,
                missing_rate=self.missing_rate,
                sorted_values=self.sorted_values,
                n_valid=self.n_valid,
                n_rows=np.array(self.n_rows),
                n_bins=np.array(self.n_bins),
            )
        return target

    @classmethod
    def load(cls, path: str | Path) -> DriftReference:
        try:
            with np.load(Path(path), allow_pickle=False) as data:
                return cls(
                    feature_names=[str(n) for n in data["feature_names"]],
                    edges=data["edges"],
                    proportions=data["proportions"],
                    missing_rate=data["missing_rate"],
                    sorted_values=data["sorted_values"],
                    n_valid=data["n_valid"],
                    n_rows=int(data["n_rows"]),
                    n_bins=int(data["n_bins"]),
                )
        except (OSError, KeyError, ValueError) as exc:
            raise InvalidInput(f"not a drift reference file: {path} ({exc})") from exc
