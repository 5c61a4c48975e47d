"""Drift: PSI and KS against reference implementations, flags, persistence, report."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from agora.errors import InvalidInput
from agora.mlops.drift import PSI_EPSILON, DriftReference, ks_2samp, psi
from agora.mlops.drift_report import render_html


def reference_psi(expected: list[float], actual: list[float], bins: int = 10) -> float:
    """Plain-Python PSI: quantile edges of expected, bins (-inf,e1],...,(ek,inf)."""
    ref = sorted(expected)
    edges: list[float] = []
    for k in range(1, bins):
        pos = k / bins * (len(ref) - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, len(ref) - 1)
        edge = ref[lo] + (ref[hi] - ref[lo]) * (pos - lo)
        if not edges or not math.isclose(edge, edges[-1], rel_tol=0, abs_tol=0):
            edges.append(edge)
    edges = sorted(set(edges))

    def shares(values: list[float]) -> list[float]:
        counts = [0] * (len(edges) + 1)
        for v in values:
            i = 0
            while i < len(edges) and v > edges[i]:
                i += 1
            counts[i] += 1
        return [c / len(values) for c in counts]

    total = 0.0
    for e, a in zip(shares(expected), shares(actual), strict=True):
        e = e or PSI_EPSILON
        a = a or PSI_EPSILON
        total += (a - e) * math.log(a / e)
    return total


@pytest.mark.parametrize("seed", range(5))
def test_psi_equals_plain_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    expected = rng.lognormal(size=1500)
    actual = rng.lognormal(mean=0.2 * seed, size=1200)
    assert psi(expected, actual) == pytest.approx(
        reference_psi(list(expected), list(actual)), abs=1e-12
    )


def test_psi_with_heavy_ties_and_empty_bins() -> None:
    rng = np.random.default_rng(7)
    expected = rng.poisson(1.0, size=2000).astype(float)
    actual = rng.poisson(3.0, size=2000).astype(float)
    assert psi(expected, actual) == pytest.approx(
        reference_psi(list(expected), list(actual)), abs=1e-12
    )


@pytest.mark.parametrize(
    ("n1", "n2"), [(1, 5), (37, 200), (500, 499), (3000, 1000), (20000, 30000)]
)
@pytest.mark.parametrize("kind", ["continuous", "ties"])
def test_ks_equals_scipy(n1: int, n2: int, kind: str) -> None:
    rng = np.random.default_rng(n1 * 31 + n2)
    if kind == "continuous":
        a, b = rng.normal(size=n1), rng.normal(0.1, 1.2, size=n2)
    else:
        a, b = rng.integers(0, 6, size=n1).astype(float), rng.integers(1, 7, size=n2).astype(float)
    statistic, pvalue = ks_2samp(a, b)
    expected = scipy.stats.ks_2samp(a, b, method="asymp")
    assert statistic == pytest.approx(expected.statistic, abs=1e-6)
    assert pvalue == pytest.approx(expected.pvalue, abs=1e-3)


@pytest.mark.parametrize("n", [10_001, 60_000])
def test_large_n_pvalue_matches_kstwo(n: int) -> None:
    from agora.mlops.drift import _ks_pvalue

    for d in np.linspace(0.0, 4 / np.sqrt(n), 12):
        assert _ks_pvalue(d, 2 * n, 2 * n) == pytest.approx(scipy.stats.kstwo.sf(d, n), abs=1e-5)


def test_ks_drops_nans() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=800), rng.normal(0.3, 1, size=900)
    a[::7] = np.nan
    b[::5] = np.nan
    expected = scipy.stats.ks_2samp(a[~np.isnan(a)], b[~np.isnan(b)], method="asymp")
    assert ks_2samp(a, b) == pytest.approx((expected.statistic, expected.pvalue), abs=1e-9)


def test_compare_matches_single_vector_functions_and_flags_shift() -> None:
    rng = np.random.default_rng(11)
    reference = rng.normal(size=(20000, 3))
    current = rng.normal(size=(20000, 3))
    current[:, 1] += 0.5  # half a standard deviation
    current[::10, 2] = np.nan
    report = DriftReference.fit(reference, ["stable", "shifted", "sparse"]).compare(current)
    by_name = {f.name: f for f in report.features}
    assert by_name["shifted"].psi > 0.2
    assert by_name["shifted"].drifted
    assert not by_name["stable"].drifted
    assert by_name["stable"].psi < 0.01
    assert [f.name for f in report.drifted] == ["shifted"]
    assert by_name["sparse"].current_missing_rate == pytest.approx(0.1)
    assert by_name["sparse"].missing_rate_change == pytest.approx(0.1)
    for j, f in enumerate(report.features):
        assert f.psi == pytest.approx(psi(reference[:, j], current[:, j]), abs=1e-12)
        assert (f.ks_statistic, f.ks_pvalue) == pytest.approx(
            ks_2samp(reference[:, j], current[:, j])
        )


def test_constant_and_all_missing_features() -> None:
    reference = np.column_stack([np.full(1000, 3.0), np.full(1000, np.nan)])
    ref = DriftReference.fit(reference, ["constant", "empty"])
    assert ref.compare(reference.copy()).features[0].psi == 0.0
    moved = np.column_stack([np.full(1000, 4.0), np.ones(1000)])
    constant, empty = ref.compare(moved).features
    assert constant.edges == (3.0,)
    assert constant.psi > 5 and constant.drifted and constant.ks_statistic == 1.0
    assert math.isnan(empty.psi) and empty.reference_missing_rate == 1.0 and not empty.drifted


def test_save_load_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    reference = rng.exponential(size=(3000, 4))
    reference[::9, 0] = np.nan
    ref = DriftReference.fit(reference, ["a", "b", "c", "d"], sample_size=1000)
    loaded = DriftReference.load(ref.save(tmp_path / "drift.npz"))
    assert loaded.feature_names == ref.feature_names
    assert loaded.n_rows == 3000 and loaded.sorted_values.shape == (4, 1000)
    current = rng.exponential(1.3, size=(2000, 4))
    assert loaded.compare(current).to_dict() == ref.compare(current).to_dict()


def test_bad_input_is_rejected(tmp_path: Path) -> None:
    ref = DriftReference.fit(np.zeros((10, 2)))
    with pytest.raises(InvalidInput):
        ref.compare(np.zeros((10, 3)))
    with pytest.raises(InvalidInput):
        DriftReference.fit(np.zeros(10))
    with pytest.raises(InvalidInput):
        DriftReference.fit(np.zeros((10, 2)), ["only-one"])
    (tmp_path / "junk.npz").write_bytes(b"not npz")
    with pytest.raises(InvalidInput):
        DriftReference.load(tmp_path / "junk.npz")


def test_html_report_contains_features_and_highlights_drift() -> None:
    rng = np.random.default_rng(2)
    reference = rng.normal(size=(5000, 3))
    current = rng.normal(size=(5000, 3)) + np.array([0.0, 1.0, 0.0])
    report = DriftReference.fit(reference, ["price", "age<days>", "views"]).compare(current)
    html = render_html(report)
    assert html.startswith("<!DOCTYPE html>") and "http" not in html.replace(
        "http://www.w3.org", ""
    )
    for name in ("price", "age&lt;days&gt;", "views"):
        assert name in html
    assert html.index("age&lt;days&gt;") < html.index("price")  # sorted by PSI
    assert html.count('class="drifted"') == 1 and html.count("<svg") == 3


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=60),
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=60),
)
def test_psi_nonnegative_and_zero_on_itself(a: list[float], b: list[float]) -> None:
    assert psi(a, a) == 0.0
    assert psi(a, b) >= 0.0
    statistic, pvalue = ks_2samp(a, b)
    expected = scipy.stats.ks_2samp(a, b, method="asymp")
    assert statistic == pytest.approx(expected.statistic, abs=1e-9)
    assert 0.0 <= pvalue <= 1.0
    if len(a) * len(b) > 1:  # scipy answers NaN for 1 vs 1
        assert pvalue == pytest.approx(expected.pvalue, abs=1e-9)
