"""Point-in-time training-set join of the offline feature store: wall time and peak memory.

Synthetic (the figure is about join mechanics, not data): N label rows against 10*N
feature rows over N/10 entities and one year, 20% of feature rows backfilled late (up to
two days after their event time), TTL 30 days. Each measured join runs in a fresh
subprocess so ``ru_maxrss`` is that join's peak resident memory.

    python benchmarks/feature_store_pit.py            # 1M labels x 10M feature rows
    python benchmarks/feature_store_pit.py --quick    # 100k x 1M
Writes benchmarks/results/feature_store_pit.json (keys pit.wall_s, pit.peak_gib, ...).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from agora.features import OfflineStore, ViewSpec

YEAR_S = 365 * 86400
START_US = 1_704_067_200 * 1_000_000  # 2024-01-01 UTC


def ts(seconds: np.ndarray) -> pa.Array:
    return pa.array(START_US + seconds.astype(np.int64) * 1_000_000, pa.timestamp("us", tz="UTC"))


def build(root: Path, n_labels: int, files: int = 10) -> Path:
    rng = np.random.default_rng(7)
    n_entities = max(n_labels // 10, 1)
    store = OfflineStore(root / "store")
    per_file = n_labels  # 10 files x n_labels rows = 10 x n_labels feature rows
    for _ in range(files):
        event = rng.integers(0, YEAR_S, per_file)
        late = rng.random(per_file) < 0.2
        delay = np.where(late, rng.integers(0, 2 * 86400, per_file), 0)
        store.write(
            "user_stats",
            pa.table(
                {
                    "user_id": rng.integers(0, n_entities, per_file),
                    "event_timestamp": ts(event),
                    "created_timestamp": ts(event + delay),
                    "clicks_7d": rng.integers(0, 100, per_file),
                    "spend_30d": rng.random(per_file),
                }
            ),
        )
    labels = pa.table(
        {
            "user_id": rng.integers(0, n_entities, n_labels),
            "event_timestamp": ts(rng.integers(0, YEAR_S, n_labels)),
            "label": rng.integers(0, 2, n_labels),
        }
    )
    pq.write_table(labels, root / "labels.parquet")
    return root


def _cpu() -> float:
    """CPU seconds of this process, all threads: steadier than wall time under load."""
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def join(root: Path, guard: bool) -> None:
    """Child process: one training_set call; prints wall seconds and peak RSS bytes."""
    labels = pq.read_table(root / "labels.parquet")
    spec = ViewSpec("user_stats", "user_id", ["clicks_7d", "spend_30d"], ttl=timedelta(days=30))
    start, cpu = time.perf_counter(), _cpu()
    out = OfflineStore(root / "store").training_set(labels, [spec], guard_created=guard)
    wall, cpu = time.perf_counter() - start, _cpu() - cpu
    assert out.num_rows == labels.num_rows
    found = out.num_rows - out.column("clicks_7d").null_count
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    print(json.dumps({"wall_s": wall, "cpu_s": cpu, "peak_bytes": peak, "found": found}))


def bare_asof(root: Path) -> None:
    """Child process: the anchor, a bare DuckDB ASOF join (no guard, ties or TTL)."""
    import duckdb

    files = sorted(str(p) for p in (root / "store" / "user_stats").glob("*.parquet"))
    con = duckdb.connect()
    con.register("labels", pq.read_table(root / "labels.parquet"))
    start, cpu = time.perf_counter(), _cpu()
    out = con.sql(
        f"""SELECT l.*, f.clicks_7d, f.spend_30d FROM labels l ASOF LEFT JOIN
        read_parquet({files!r}) f
        ON l.user_id = f.user_id AND f.event_timestamp <= l.event_timestamp"""
    ).to_arrow_table()
    wall, cpu = time.perf_counter() - start, _cpu() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    found = out.num_rows - out.column("clicks_7d").null_count
    print(json.dumps({"wall_s": wall, "cpu_s": cpu, "peak_bytes": peak, "found": found}))


def measure(root: Path, guard: bool, *, bare: bool = False) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", str(root), "--guard", str(int(guard))]
    cmd += ["--bare"] if bare else []
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="100k labels x 1M feature rows")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--guard", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        bare_asof(args.child) if args.bare else join(args.child, bool(args.guard))
        return
    n_labels = 100_000 if args.quick else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        root = build(Path(tmp), n_labels)
        print(
            f"built {n_labels:,} labels x {10 * n_labels:,} feature rows in "
            f"{time.perf_counter() - t0:.1f}s"
        )
        guarded = measure(root, guard=True)
        plain = measure(root, guard=False)
        bare = measure(root, guard=False, bare=True)
    result = {
        "pit.wall_s": round(guarded["wall_s"], 3),
        "pit.peak_gib": round(guarded["peak_bytes"] / 2**30, 3),
        "pit.cpu_s": round(guarded["cpu_s"], 3),
        "pit.label_rows": n_labels,
        "pit.feature_rows": 10 * n_labels,
        "pit.hit_rate": round(guarded["found"] / n_labels, 4),
        "pit_unguarded.wall_s": round(plain["wall_s"], 3),
        "pit_unguarded.peak_gib": round(plain["peak_bytes"] / 2**30, 3),
        # Anchor in the same run: a bare DuckDB ASOF join (no guard, ties or TTL).
        "pit.bare_asof_wall_s": round(bare["wall_s"], 3),
        "pit.bare_asof_cpu_s": round(bare["cpu_s"], 3),
        "pit.bare_asof_peak_gib": round(bare["peak_bytes"] / 2**30, 3),
        "quick": args.quick,
    }
    print(f"{'figure':<26}{'value':>12}")
    for key, value in result.items():
        print(f"{key:<26}{value!s:>12}")
    name = "feature_store_pit_quick.json" if args.quick else "feature_store_pit.json"
    out = Path(__file__).parent / "results" / name
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
