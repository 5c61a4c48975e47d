"""Drift detection speed: PSI + KS on 1M rows x 50 features vs a reference of 1M rows.

Data: 50 columns shaped like marketplace features (normal prices and ratings,
lognormal prices and dwell times, Poisson counts, uniform shares, five columns
with missing values, a model score column fed by two of them), float64. The current matrix has
the same generator with a few real shifts (mean + 0.5 sd, wider lognormal,
higher count rate, more missing values, a shifted score).

Measured: wall time of ``DriftReference.fit(reference)`` + ``.compare(current)``
and the process's peak resident memory during that step. The compute runs in a
fresh subprocess; after generating the data there it resets the kernel's
high-water mark (``echo 5 > /proc/self/clear_refs``) and reads ``VmHWM`` from
``/proc/self/status`` afterwards, so ``peak_gib`` is the true peak RSS of the
compute step, including the two 0.4 GB input matrices it holds, and excluding
generation scratch. (Where clear_refs is not allowed the figure is the whole
child's peak, which is marked in ``peak_includes_generation``.)

Anchor in the same run: ``scipy.stats.ks_2samp`` looped over the 50 columns
(KS only, no PSI) on the same data.

Run: ``.venv/bin/python benchmarks/drift.py [--quick]`` (``--quick``: 100k rows).
Writes ``benchmarks/results/drift.json``. Goal: < 10 s for 1M x 50.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).parent / "results" / "drift.json"
N_FEATURES = 50


def generate(n_rows: int, seed: int, shifted: bool) -> tuple[np.ndarray, list[str]]:
    """Column by column into one preallocated matrix (keeps generation memory low)."""
    rng = np.random.default_rng(seed)
    data = np.empty((n_rows, N_FEATURES))
    names: list[str] = []
    for j in range(N_FEATURES):
        kind = ("normal", "lognormal", "count", "uniform", "normal")[j % 5]
        shift = shifted and j in (0, 4, 11, 17)
        if kind == "normal":
            mean, sd = 10.0 + j, 1.0 + j / 10
            column = rng.normal(mean + (0.5 * sd if shift else 0.0), sd, n_rows)
        elif kind == "lognormal":
            column = rng.lognormal(1.0, 0.9 if shift else 0.6, n_rows)
        elif kind == "count":
            column = rng.poisson(4.5 if shift else 3.0, n_rows).astype(np.float64)
        else:
            column = rng.uniform(0.0, 1.0, n_rows)
        if j % 10 == 7:  # five columns with missing values, one of them getting worse
            missing = 0.25 if (shifted and j == 27) else 0.05
            column[rng.random(n_rows) < missing] = np.nan
        data[:, j] = column
        names.append(f"{kind}_{j}")
    # the model score: a logistic of a few features, so it moves when they do
    logit = 0.4 * (data[:, 0] - 10.0) - 0.3 * (data[:, 2] - 3.0) + 0.1 * rng.normal(size=n_rows)
    data[:, N_FEATURES - 1] = 1.0 / (1.0 + np.exp(-logit))
    names[-1] = "model_score"
    return data, names


def _vm_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(n_rows: int) -> dict[str, Any]:
    """Generate, reset the RSS high-water mark, time fit + compare, then the scipy anchor."""
    import scipy.stats

    from agora.mlops.drift import DriftReference

    reference, names = generate(n_rows, seed=1, shifted=False)
    current, _ = generate(n_rows, seed=2, shifted=True)
    try:
        Path("/proc/self/clear_refs").write_text("5")
        reset = True
    except OSError:
        reset = False
    rss_inputs = _vm_kib("VmRSS")
    started = time.perf_counter()
    drift_ref = DriftReference.fit(reference, names)
    fitted = time.perf_counter()
    report = drift_ref.compare(current)
    done = time.perf_counter()
    peak = _vm_kib("VmHWM")
    del drift_ref

    started_scipy = time.perf_counter()
    scipy_d = []
    for j in range(N_FEATURES):
        a, b = reference[:, j], current[:, j]
        result = scipy.stats.ks_2samp(a[~np.isnan(a)], b[~np.isnan(b)], method="asymp")
        scipy_d.append(float(result.statistic))
    scipy_s = time.perf_counter() - started_scipy
    ours_d = [f.ks_statistic for f in report.features]
    return {
        "wall_s": done - started,
        "fit_s": fitted - started,
        "compare_s": done - fitted,
        "peak_gib": peak / 2**20,
        "inputs_rss_gib": rss_inputs / 2**20,
        "peak_includes_generation": not reset,
        "n_drifted": len(report.drifted),
        "drifted": [f.name for f in report.drifted],
        "top_psi": [(f.name, round(f.psi, 4)) for f in report.by_psi()[:6]],
        "scipy_s": scipy_s,
        "max_abs_ks_diff_vs_scipy": float(np.max(np.abs(np.array(ours_d) - scipy_d))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k rows instead of 1M")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    n_rows = 100_000 if args.quick else 1_000_000
    key = "drift_100k_x50" if args.quick else "drift_1m_x50"
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(n_rows)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")},
    )
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"drift: {n_rows:,} rows x {N_FEATURES} features, reference of the same size")
    print(f"{'step':<38}{'value':>12}")
    for label, value in [
        ("fit + compare wall (s)", r["wall_s"]),
        ("  fit (s)", r["fit_s"]),
        ("  compare (s)", r["compare_s"]),
        ("peak RSS during compute (GiB)", r["peak_gib"]),
        ("  of which the two inputs (GiB)", r["inputs_rss_gib"]),
        ("scipy ks_2samp x 50, KS only (s)", r["scipy_s"]),
        ("features drifted", r["n_drifted"]),
        ("max |D - scipy D|", r["max_abs_ks_diff_vs_scipy"]),
    ]:
        print(f"{label:<38}{value:>12.4g}")
    print("drifted:", ", ".join(r["drifted"]))
    print("top PSI:", r["top_psi"])
    results = {
        f"{key}.wall_s": round(r["wall_s"], 3),
        f"{key}.peak_gib": round(r["peak_gib"], 3),
        f"{key}.fit_s": round(r["fit_s"], 3),
        f"{key}.compare_s": round(r["compare_s"], 3),
        f"{key}.inputs_rss_gib": round(r["inputs_rss_gib"], 3),
        f"{key}.peak_includes_generation": r["peak_includes_generation"],
        f"{key}.n_drifted": r["n_drifted"],
        f"{key}.max_abs_ks_diff_vs_scipy": r["max_abs_ks_diff_vs_scipy"],
        "scipy_ks_loop.wall_s": round(r["scipy_s"], 3),
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, numpy {np.__version__}",
    }
    RESULTS.parent.mkdir(exist_ok=True)
    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    RESULTS.write_text(json.dumps({**existing, **results}, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
