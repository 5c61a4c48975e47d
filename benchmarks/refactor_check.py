"""Refactor check: the same benchmarks on a base commit and on the current tree.

The rule it checks (issue 19): quality figures within 0.005 of the base commit
with the same seeds; latency within 10 % of the base, measured in the same run.

How: the base commit is checked out into a temporary ``git worktree`` and the
current tree (tracked and untracked, not ignored, files: uncommitted edits
included) is copied beside it, both under one temporary folder that also holds
a ``shared`` link to the data sets (the benchmarks find them at
``<tree>/../shared``). Each side runs with ``cwd`` = its tree and
``PYTHONPATH=<tree>/src``, so each side's benchmark code and product code are
used, with the caller's interpreter (the shared venv). The results files are
written inside each side's own tree and copied out after every run. Model
input caches (``benchmarks/.cache``: corpus and image embeddings, keyed by the
encoder key) are shared by both sides; the encoders are not what is compared.

Quality benchmarks run once per side (their seeds are fixed). Latency
benchmarks run ``--repeats`` times per side, interleaved (base, head, base,
head, ...), and the median of each side is compared, so machine load hits both
sides alike.

Metrics are classified per benchmark (``BENCHES``): ``quality`` (|delta| <=
0.005), ``latency`` (lower is better: head <= 1.10 x base), ``throughput``
(higher is better: head >= base / 1.10, i.e. time per item within 10 %), or
``info`` (shown, not judged: run times of quality benchmarks, counts, sizes).

Writes ``benchmarks/results/refactor_check.json``, merged by benchmark into the
existing file (a later ``--only latency`` run adds its benchmarks and keeps the
quality ones), and prints a table.

Run::

    .venv/bin/python benchmarks/refactor_check.py                  # everything registered
    .venv/bin/python benchmarks/refactor_check.py --only quality
    .venv/bin/python benchmarks/refactor_check.py --only latency --repeats 3
    .venv/bin/python benchmarks/refactor_check.py --bench ranking_latency --repeats 1

Not part of the test suite: it runs for many minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "refactor_check.json"
DEFAULT_BASE = "5a3a0bf"  # the last commit before the architecture refactor
QUALITY_TOLERANCE = 0.005
LATENCY_FACTOR = 1.10

QUALITY = re.compile(
    r"(ndcg|auc|f1|precision|recall|map@|hit|accuracy|coverage|fp_rate|kept|training_ctr)"
)
THROUGHPUT = re.compile(r"(per_s|per_min|rps)")
LATENCY = re.compile(r"(p50|p95|p99|_ms$|_s$|seconds$)")


def default_classify(key: str, latency_bench: bool) -> str:
    """A metric's class from its name; timings only count in latency benchmarks."""
    if key.startswith("anchor.") or ".anchor." in key:
        return "skip"  # published constants, not measured
    if THROUGHPUT.search(key):
        return "throughput" if latency_bench else "info"
    if LATENCY.search(key):
        return "latency" if latency_bench else "info"
    if QUALITY.search(key):
        return "quality"
    return "info"


@dataclass(frozen=True)
class Bench:
    """One benchmark: how to run it quickly and which file it writes (relative to a tree)."""

    kind: str  # "quality" or "latency"
    args: tuple[str, ...]
    result: str
    timeout_s: float = 3600.0  # a hang guard: loaded 2-core machines are slow
    # Explicit classes for keys whose names are ambiguous (key -> class).
    overrides: dict[str, str] = field(default_factory=dict)

    def classify(self, key: str) -> str:
        if key in self.overrides:
            return self.overrides[key]
        return default_classify(key, self.kind == "latency")


R = "benchmarks/results/"
BENCHES: dict[str, Bench] = {
    # lambdarank.*, lightgbm_reference.*, lambdarank_large.* ndcg@{1,3,5,10};
    # feed.{scorer,lambdamart,popularity}.ndcg@20, feed.training_ctr (quality);
    # feed.training_impressions, wall_s (info).
    "ranking_quality": Bench("quality", ("--quick",), R + "ranking_quality.json"),
    # {algo}.{ndcg,precision,recall,map}@10 and .coverage (quality); .fit_s, splits
    # (info); anchor.* skipped.
    # The LightGBM re-ranker's fit dominates: over 30 min on 2 loaded cores.
    "recommend_quality": Bench(
        "quality", ("--quick",), R + "recommend_quality.quick.json", timeout_s=5400.0
    ),
    # {zero_shot,k1,k5}.{top3_precision,top1_accuracy,high_conf_fp_rate},
    # k*.unseen_top3_precision, baseline_lr.* (quality); high_conf_tags (a count),
    # seeds, images, seconds (info).
    "tagging_quality": Bench("quality", ("--quick",), R + "tagging_quality.quick.json"),
    # {offensive,hate,spam,ensemble.offensive,tfidf.*,profanity_check.*}.
    # {precision,recall,f1,roc_auc} (quality); *.embed_s, *.train_s, *.test_rows (info).
    "moderation_quality": Bench("quality", ("--quick",), R + "moderation_quality.json"),
    # {keyword,dense,hybrid}.{ndcg@10,recall@100}, minilm.* incl. plain_rrf and
    # fusion_train.ndcg@10 (quality); minilm.fusion (the chosen parameters, a
    # string: shown), query_embed_ms, passage_chars (info).
    "search_quality": Bench("quality", ("--quick",), R + "search_quality.json"),
    # conse_text_to_image.*, kenney.*.precision@5 (quality); images_per_s_encode (info:
    # encoder speed in a quality run).
    "visual_search": Bench("quality", ("--quick",), R + "visual_search.json"),
    # serve.{cached,uncached,floor}.{p50,p99}_ms, fit_als_*_s (latency);
    # peak_rss_mb, matrix sizes (info).
    "recommend_speed": Bench("latency", ("--quick",), R + "recommend_speed.quick.json"),
    # inprocess/http/stage/trees *_ms (latency); http.max_rps, http.rps_* (throughput);
    # http.errors, inprocess.trending_fallbacks (info).
    "ranking_latency": Bench("latency", ("--quick",), R + "ranking_latency.json"),
    # {text,text_cached,image,analyze_image}.{p50,p95}_ms (latency); counts (info).
    "moderation_speed": Bench("latency", ("--quick",), R + "moderation_speed.json"),
    # single.{p50,p95}_ms (latency); batch.assets_per_min (throughput); n, errors (info).
    "tagging_speed": Bench("latency", ("--quick",), R + "tagging_speed.quick.json"),
    # hybrid/keyword/dense *_ms, keyword_5k.rebuild_s (latency); index.*_per_s
    # (throughput); index.text_words, sizes (info).
    "search_latency": Bench(
        "latency",
        ("--quick",),
        R + "search_latency_quick.json",
        overrides={"index.text_words": "info"},
    ),
    # hydrate.*_ms, pit.*wall_s, stream.freshness_p99_ms (latency); stream.events_per_s
    # (throughput); pit.peak_gib, rows (info).
    "feature_store": Bench(
        "latency",
        ("--quick", "--no-feast"),
        R + "feature_store_quick.json",
        overrides={"pit.cpu_s": "info", "pit.bare_asof_cpu_s": "info", "pit.feast_wall_s": "skip"},
    ),
    # bus_*_events_per_s_*, api_events_per_s_embedded (throughput).
    "ingest": Bench("latency", ("--quick",), R + "ingest.json"),
}


# --------------------------------------------------------------------------- sides


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def shared_dir(explicit: Path | None) -> Path:
    """The data folder the benchmarks expect at ``<tree>/../shared``."""
    if explicit is not None:
        return explicit.resolve()
    main_checkout = Path(git("rev-parse", "--path-format=absolute", "--git-common-dir")).parent
    for candidate in (ROOT.parent / "shared", main_checkout.parent / "shared"):
        if (candidate / "data").is_dir():
            return candidate.resolve()
    sys.exit("no shared data folder found (../shared/data); pass --shared")


def copy_tree(dest: Path) -> None:
    """The current tree as it is: tracked and untracked files that git does not ignore."""
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_symlink() or not src.is_file():
            continue  # deleted in the working tree, or a link (the venv)
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


def side_env(tree: Path) -> dict[str, str]:
    return os.environ | {"PYTHONPATH": str(tree / "src"), "PYTHONUNBUFFERED": "1"}


def assert_own_src(tree: Path) -> None:
    """The side imports its own ``agora``, not the editable install's."""
    found = subprocess.run(
        [sys.executable, "-c", "import agora; print(agora.__file__)"],
        cwd=tree, env=side_env(tree), check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    if not Path(found).resolve().is_relative_to(tree.resolve() / "src"):
        sys.exit(f"{tree}: agora imported from {found}, not from the side's src")


def prepare(tree: Path, cache: Path) -> None:
    """Share the venv and the model input caches."""
    venv = ROOT / ".venv"
    if venv.exists() and not (tree / ".venv").exists():
        (tree / ".venv").symlink_to(venv.resolve())
    cache.mkdir(parents=True, exist_ok=True)
    link = tree / "benchmarks" / ".cache"
    if not link.exists():
        link.symlink_to(cache.resolve())


@dataclass
class Side:
    name: str  # "base" or "head"
    tree: Path
    commit: str


# --------------------------------------------------------------------------- runs


def flatten(data: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        if isinstance(value, dict):
            yield from flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def run_once(name: str, bench: Bench, side: Side, attempt: int, logs: Path) -> dict[str, Any] | str:
    """One run of a benchmark on one side: its flattened results, or why it failed."""
    result = side.tree / bench.result
    result.unlink(missing_ok=True)  # never read the committed file as this run's
    env = side_env(side.tree)
    log = logs / f"{name}.{side.name}.{attempt}.log"
    cmd = [sys.executable, f"benchmarks/{name}.py", *bench.args]
    print(f"  {side.name:4s} #{attempt}: {' '.join(cmd[1:])}", flush=True)
    t0 = time.perf_counter()
    with log.open("w") as out:
        try:
            rc = subprocess.run(
                cmd, cwd=side.tree, env=env, stdout=out, stderr=subprocess.STDOUT,
                timeout=bench.timeout_s,
            ).returncode  # fmt: skip
        except subprocess.TimeoutExpired:
            rc = -1
    wall = time.perf_counter() - t0
    print(f"        rc={rc} in {wall:.0f} s (log {log})", flush=True)
    if rc != 0 or not result.exists():
        tail = log.read_text(errors="replace").splitlines()[-15:]
        return f"rc={rc}, no {bench.result}; log tail:\n" + "\n".join(tail)
    kept = logs / f"{name}.{side.name}.{attempt}.json"
    shutil.copy2(result, kept)  # the next run overwrites it
    data = json.loads(kept.read_text())
    return dict(flatten(data)) | {"_wall_s": wall}


def median(values: list[Any]) -> Any:
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) == len(values) and numbers:
        return statistics.median(numbers)
    return values[0]  # strings, booleans, nulls: the first run's


def judge(cls: str, base: Any, head: Any) -> tuple[float | None, bool | None]:
    """(delta, pass); pass is None for figures that are shown but not judged."""
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (base, head))
    if not numeric:
        return None, (None if cls == "info" else base == head)
    delta = float(head) - float(base)
    if cls == "quality":
        return delta, abs(delta) <= QUALITY_TOLERANCE + 1e-12
    if cls == "latency":
        return delta, float(head) <= LATENCY_FACTOR * float(base)
    if cls == "throughput":
        return delta, float(head) >= float(base) / LATENCY_FACTOR
    return delta, None


def compare(bench: Bench, runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    keys = [k for k in runs["base"][0] if not k.startswith("_")]
    keys += [k for k in runs["head"][0] if k not in keys and not k.startswith("_")]
    for key in keys:
        cls = bench.classify(key)
        if cls == "skip":
            continue
        values = {s: [r.get(key) for r in runs[s]] for s in ("base", "head")}
        base, head = median(values["base"]), median(values["head"])
        delta, ok = judge(cls, base, head)
        row: dict[str, Any] = {"class": cls, "base": base, "head": head, "delta": delta}
        if ok is not None:
            row["pass"] = ok
        if len(runs["base"]) > 1:
            row["base_runs"], row["head_runs"] = values["base"], values["head"]
        metrics[key] = row
    return metrics


def check(
    name: str, bench: Bench, sides: list[Side], repeats: int, logs: Path, parallel: bool = False
) -> dict[str, Any]:
    """Run one benchmark on both sides (interleaved) and compare the figures.

    ``parallel`` runs the two sides of a quality benchmark at the same time:
    seeded figures do not depend on load (latency benchmarks never do this).
    """
    n = repeats if bench.kind == "latency" else 1
    together = parallel and bench.kind == "quality"
    print(
        f"{name} ({bench.kind}, {n} run(s) per side{', sides at once' if together else ''})",
        flush=True,
    )
    runs: dict[str, list[dict[str, Any]]] = {"base": [], "head": []}
    errors: dict[str, str] = {}
    for attempt in range(1, n + 1):
        if together:
            with ThreadPoolExecutor(len(sides)) as pool:
                futures = [pool.submit(run_once, name, bench, s, attempt, logs) for s in sides]
                got_all = [f.result() for f in futures]
        else:  # base, head, base, head, ...
            got_all = [run_once(name, bench, side, attempt, logs) for side in sides]
        for side, got in zip(sides, got_all, strict=True):
            if isinstance(got, str):
                errors[side.name] = got
                print(f"        FAILED: {got}", flush=True)
            else:
                runs[side.name].append(got)
        if errors:
            break
    entry: dict[str, Any] = {
        "kind": bench.kind,
        "args": list(bench.args),
        "runs_per_side": n,
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "base": sides[0].commit,
        "head": sides[1].commit,
    }
    if errors:  # the side that ran is kept: its figures are still evidence
        ran = {
            s: {k: v for k, v in r[0].items() if not k.startswith("_")}
            for s, r in runs.items()
            if r
        }
        return entry | {"pass": False, "errors": errors, "figures": ran}
    metrics = compare(bench, runs)
    judged = [m["pass"] for m in metrics.values() if "pass" in m]
    entry["wall_s"] = {s: [round(r["_wall_s"], 1) for r in runs[s]] for s in runs}
    entry["pass"] = all(judged) and bool(judged)
    entry["failed"] = sorted(k for k, m in metrics.items() if m.get("pass") is False)
    entry["metrics"] = metrics
    return entry


# --------------------------------------------------------------------------- report


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:.1f}"
    return str(value)


def table(results: dict[str, Any], names: list[str], show_info: bool) -> str:
    lines = [f"{'benchmark / metric':58s} {'class':10s} {'base':>10s} {'head':>10s} "
             f"{'delta':>9s}  verdict"]  # fmt: skip
    for name in names:
        entry = results[name]
        verdict = "PASS" if entry["pass"] else "FAIL"
        lines.append(f"{name} [{entry['kind']}, {entry['runs_per_side']} run(s)/side]: {verdict}")
        for side, err in entry.get("errors", {}).items():
            said = str(err).splitlines() or [""]
            lines.append(f"  {side} failed: {said[0]} ... {said[-1]}")
        for key, m in entry.get("metrics", {}).items():
            if m["class"] == "info" and not show_info:
                continue
            ok = m.get("pass")
            mark = "-" if ok is None else ("ok" if ok else "FAIL")
            delta = "" if m["delta"] is None else f"{m['delta']:+.4f}"
            lines.append(
                f"  {key:56s} {m['class']:10s} {fmt(m['base']):>10s} {fmt(m['head']):>10s} "
                f"{delta:>9s}  {mark}"
            )
    return "\n".join(lines)


def merge(new: dict[str, Any], meta: dict[str, Any], out: Path) -> dict[str, Any]:
    """The existing report with these benchmarks replaced (others kept)."""
    old = json.loads(out.read_text()) if out.exists() else {}
    benches = old.get("benchmarks", {}) | new
    return {
        "rule": {
            "quality": f"|head - base| <= {QUALITY_TOLERANCE}",
            "latency": f"head <= {LATENCY_FACTOR} x base (median of interleaved runs)",
            "throughput": f"head >= base / {LATENCY_FACTOR}",
        },
        **meta,
        "pass": all(b["pass"] for b in benches.values()),
        "benchmarks": dict(sorted(benches.items())),
    }


def select(only: str | None, bench_arg: str | None) -> list[str]:
    names = list(BENCHES) if not bench_arg else [b.strip() for b in bench_arg.split(",")]
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHES)}")
    return [n for n in names if only is None or BENCHES[n].kind == only]


def save(results: dict[str, Any], meta: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(merge(results, meta, out), indent=2) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default=DEFAULT_BASE, help="base commit (default %(default)s)")
    ap.add_argument("--head", help="compare this commit instead of the current tree (bisecting)")
    ap.add_argument("--out", type=Path, default=OUT, help="report (default %(default)s)")
    ap.add_argument("--only", choices=("quality", "latency"))
    ap.add_argument("--bench", help="comma-separated benchmark names (default: all registered)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per side, latency benchmarks")
    ap.add_argument("--shared", type=Path, help="data folder (default: ../shared)")
    ap.add_argument("--cache", type=Path, default=ROOT / "benchmarks" / ".cache",
                    help="model input cache shared by both sides")  # fmt: skip
    ap.add_argument("--keep", action="store_true", help="keep the temporary trees and logs")
    ap.add_argument(
        "--parallel", action="store_true", help="quality benchmarks: run both sides at once"
    )
    ap.add_argument("--all-metrics", action="store_true", help="print info figures too")
    args = ap.parse_args()
    names = select(args.only, args.bench)
    if not names:
        sys.exit("nothing selected")
    base_sha = git("rev-parse", args.base)
    head_sha = git("rev-parse", args.head or "HEAD")
    # The report itself is rewritten by every run: it is not an edit of the tree.
    report = str(OUT.relative_to(ROOT))
    changed = [ln for ln in git("status", "--porcelain").splitlines() if report not in ln]
    dirty = args.head is None and bool(changed)
    head_name = head_sha + ("+edits" if dirty else "")
    work = Path(tempfile.mkdtemp(prefix="agora-refactor-check-"))
    logs = work / "logs"
    logs.mkdir()
    (work / "shared").symlink_to(shared_dir(args.shared))
    print(
        f"base {base_sha[:10]} vs head {head_name[:10]}{' (+ edits)' if dirty else ''}; in {work}"
    )
    git("worktree", "add", "--detach", str(work / "base"), base_sha)
    if args.head:
        git("worktree", "add", "--detach", str(work / "head"), head_sha)
    results: dict[str, Any] = {}
    meta = {"base_commit": base_sha, "head_commit": head_name}
    try:
        if not args.head:
            copy_tree(work / "head")
        sides = [Side("base", work / "base", base_sha), Side("head", work / "head", head_name)]
        for side in sides:
            prepare(side.tree, args.cache)
            assert_own_src(side.tree)
        for name in names:
            results[name] = check(
                name, BENCHES[name], sides, max(1, args.repeats), logs, args.parallel
            )
            save(results, meta, args.out)  # progress survives an interrupted run
    finally:
        for tree in ("base", "head"):  # the links first: nothing is removed through them
            for link in (work / tree / ".venv", work / tree / "benchmarks" / ".cache"):
                if link.is_symlink():
                    link.unlink()
        git("worktree", "remove", "--force", str(work / "base"))
        if args.head:
            git("worktree", "remove", "--force", str(work / "head"))
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(table(results, names, args.all_metrics))
    print(f"\nwrote {args.out}")
    return 0 if all(r["pass"] for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
