"""Feature store benchmark, side by side with Feast 0.67.

* hydration: 100k assets x 10 float features; p50/p99 of reading 1,000 random ids x 10
  features from the embedded (memory-mapped) store, from Redis (127.0.0.1:6379), and
  from Feast's SQLite online store (same data, ``get_online_features``);
* point-in-time training set: 1M labels x 10M feature rows with 20% late rows and TTL
  (``feature_store_pit.py`` builds the data and measures each join in a subprocess for
  its peak RSS); Feast's file offline store on growing sizes until one takes > 10 min
  or the total budget is spent;
* stream: interaction events/s through the window aggregates and affinities into the
  embedded online store; freshness p99 = bus publish -> readable online, with the
  ``features`` consumer running on the embedded bus.

Feast runs in its own virtualenv (benchmarks/.cache/feast-venv, created on first run:
``python3.11 -m venv`` + ``pip install feast==0.67.0``), as a subprocess.

    python benchmarks/feature_store.py          # full run (~15 min with Feast)
    python benchmarks/feature_store.py --quick  # small sizes, skips Feast's PIT ladder
Writes benchmarks/results/feature_store.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import feature_store_pit as pit_bench  # noqa: E402
from agora.bus.base import Event, Topics  # noqa: E402
from agora.config import Settings  # noqa: E402
from agora.features.base import Entity, Feature, FeatureView, ValueType  # noqa: E402
from agora.features.consumer import FEATURES_GROUP  # noqa: E402
from agora.features.definitions import standard_registry  # noqa: E402
from agora.features.embedded import EmbeddedOnlineStore  # noqa: E402
from agora.features.redis_store import RedisOnlineStore  # noqa: E402
from agora.features.registry import FeatureRegistry  # noqa: E402
from agora.features.stream import StreamAggregator  # noqa: E402
from agora.runtime import Platform  # noqa: E402

FEAST_VENV = HERE / ".cache" / "feast-venv"
FEAST_SIDE = HERE / "feast_side.py"
REDIS = "redis://127.0.0.1:6379/0"
N_FEATURES = 10
BATCH = 1000


def bench_registry() -> FeatureRegistry:
    asset = Entity("asset", "asset_id")
    feats = [Feature(f"f{i}", ValueType.FLOAT) for i in range(N_FEATURES)]
    return FeatureRegistry([FeatureView("asset_stats", asset, feats)])


def hydrate(store, n: int, reps: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    ids = [str(i) for i in range(n)]
    values = {f"f{i}": rng.random(n) for i in range(N_FEATURES)}
    now = time.time()
    for start in range(0, n, 20_000):
        chunk = slice(start, start + 20_000)
        store.write("asset", ids[chunk], {k: v[chunk] for k, v in values.items()}, now)
    names = [f"f{i}" for i in range(N_FEATURES)]
    times = []
    for r in range(reps + 5):
        batch = [ids[i] for i in rng.choice(n, BATCH, replace=False)]
        t = time.perf_counter()
        m = store.read("asset", batch, names)
        if r >= 5:
            times.append((time.perf_counter() - t) * 1000)
        assert m.shape == (BATCH, N_FEATURES)
    return {"p50_ms": float(np.percentile(times, 50)), "p99_ms": float(np.percentile(times, 99))}


def ensure_feast() -> Path | None:
    python = FEAST_VENV / "bin" / "python"
    if not python.exists():
        print("creating Feast virtualenv (one time)...", flush=True)
        subprocess.run(["python3.11", "-m", "venv", str(FEAST_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "feast==0.67.0"], check=True)
    return python


def feast(args: list[str], timeout: float) -> dict[str, float] | None:
    python = ensure_feast()
    with tempfile.TemporaryDirectory() as work:
        cmd = [str(python), str(FEAST_SIDE), args[0], work, *args[1:]]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
        except subprocess.TimeoutExpired:
            return None
        except subprocess.CalledProcessError as exc:
            print(exc.stderr[-2000:], file=sys.stderr)
            return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def feast_pit_ladder(sizes: list[int], budget_s: float) -> tuple[int, float]:
    best = (0, 0.0)
    deadline = time.monotonic() + budget_s
    for n in sizes:
        left = deadline - time.monotonic()
        if left < 30:
            break
        got = feast(["pit", str(n)], timeout=min(600.0, left))
        print(f"  feast pit {n:>9,} labels: {got}", flush=True)
        if got is None:
            break
        best = (n, got["wall_s"])
    return best


def stream_throughput(n_events: int, tmp: Path) -> float:
    rng = np.random.default_rng(5)
    store = EmbeddedOnlineStore(tmp / "stream-online", standard_registry())
    agg = StreamAggregator(store, Settings(data_dir=tmp / "s").features)
    types = np.array(["impression", "view", "click", "favorite", "add_to_cart", "purchase"])
    p = np.array([0.5, 0.25, 0.15, 0.05, 0.03, 0.02])
    t0 = 1_800_000_000.0
    events = [
        {
            "user_id": f"u{u}",
            "asset_id": f"a{a}",
            "type": str(t),
            "ts": t0 + k * 0.01,
            "value": None,
            "context": {},
        }
        for k, (u, a, t) in enumerate(
            zip(
                rng.integers(0, 10_000, n_events),
                rng.integers(0, 100_000, n_events),
                rng.choice(types, n_events, p=p),
                strict=True,
            )
        )
    ]
    ids = [f"e{k}" for k in range(n_events)]
    start = time.perf_counter()
    for s in range(0, n_events, 1000):
        agg.apply(events[s : s + 1000], ids[s : s + 1000], log_offline=False)
    return n_events / (time.perf_counter() - start)


def stream_freshness(tmp: Path, seconds: float, rate: float) -> float:
    """p99 ms from publish (Event.created_at) to the end of the online write."""
    platform = Platform.build(Settings.load(data_dir=tmp / "fresh"))
    consumer = platform.stream_consumer("bench")
    lags: list[float] = []
    original = platform.bus.consume

    def consume(*a, **kw):  # type: ignore[no-untyped-def]
        got = original(*a, **kw)
        consume.last = got  # type: ignore[attr-defined]
        return got

    platform.bus.consume = consume  # type: ignore[method-assign]
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            consume.last = []  # type: ignore[attr-defined]
            consumer.run_once(block_ms=20)
            done = time.time()
            lags.extend(done - d.event.created_at for d in consume.last)  # type: ignore[attr-defined]

    worker = threading.Thread(target=run)
    worker.start()
    rng = np.random.default_rng(9)
    per_tick, tick = max(1, int(rate / 100)), 0.01
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        now = datetime.now(UTC).isoformat()
        platform.bus.publish_many(
            [
                Event(
                    Topics.INTERACTION_RECORDED,
                    {
                        "user_id": f"u{rng.integers(0, 1000)}",
                        "asset_id": f"a{rng.integers(0, 10_000)}",
                        "type": "view",
                        "ts": now,
                        "session_id": None,
                        "value": None,
                        "context": {},
                    },
                )
                for _ in range(per_tick)
            ]
        )
        time.sleep(tick)
    time.sleep(1.0)
    stop.set()
    worker.join()
    depth = platform.bus.depth(Topics.INTERACTION_RECORDED, FEATURES_GROUP)
    platform.close()
    print(f"  freshness: {len(lags)} events, left in queue {depth}", flush=True)
    return float(np.percentile(np.array(lags) * 1000, 99))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-feast", action="store_true", help="skip the Feast anchors")
    args = parser.parse_args()
    n = 10_000 if args.quick else 100_000
    reps = 50 if args.quick else 200
    result: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        print("hydration...", flush=True)
        emb = hydrate(EmbeddedOnlineStore(tmp / "online", bench_registry()), n, reps)
        prefix = f"bench-{uuid.uuid4().hex[:8]}"
        redis_store = RedisOnlineStore(f"{REDIS}?prefix={prefix}", bench_registry())
        try:
            red = hydrate(redis_store, n, reps)
        finally:
            for key in redis_store.client.scan_iter(f"{prefix}*", count=10_000):
                redis_store.client.delete(key)
        result |= {
            "hydrate.embedded.p50_ms": round(emb["p50_ms"], 3),
            "hydrate.embedded.p99_ms": round(emb["p99_ms"], 3),
            "hydrate.redis.p50_ms": round(red["p50_ms"], 3),
            "hydrate.redis.p99_ms": round(red["p99_ms"], 3),
        }
        fe = None if args.no_feast else feast(["hydrate", str(n), "10", str(BATCH), "30"], 900)
        result["hydrate.feast.p50_ms"] = round(fe["p50_ms"], 3) if fe else None
        result["hydrate.feast.p99_ms"] = round(fe["p99_ms"], 3) if fe else None
        if fe:
            result["hydrate.embedded.speedup_vs_feast"] = round(fe["p50_ms"] / emb["p50_ms"], 1)
            result["hydrate.redis.speedup_vs_feast"] = round(fe["p50_ms"] / red["p50_ms"], 1)

        print("point-in-time join...", flush=True)
        n_labels = 100_000 if args.quick else 1_000_000
        root = pit_bench.build(tmp / "pit", n_labels)
        guarded = pit_bench.measure(root, guard=True)
        bare = pit_bench.measure(root, False, bare=True)
        result |= {
            "pit.wall_s": round(guarded["wall_s"], 3),
            "pit.peak_gib": round(guarded["peak_bytes"] / 2**30, 3),
            "pit.cpu_s": round(guarded["cpu_s"], 3),
            "pit.label_rows": n_labels,
            # Anchor in the same run: a bare DuckDB ASOF join of the same data.
            "pit.bare_asof_wall_s": round(bare["wall_s"], 3),
            "pit.bare_asof_cpu_s": round(bare["cpu_s"], 3),
            "pit.feature_rows": 10 * n_labels,
        }
        ladder = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000, 1_000_000]
        rows, wall = (0, 0.0) if args.no_feast else feast_pit_ladder(ladder, 900.0)
        result["pit.feast_rows"] = rows
        result["pit.feast_wall_s"] = round(wall, 3)

        print("stream...", flush=True)
        result["stream.events_per_s"] = round(
            stream_throughput(50_000 if args.quick else 300_000, tmp)
        )
        result["stream.freshness_p99_ms"] = round(
            stream_freshness(tmp, 5.0 if args.quick else 20.0, 2000.0), 1
        )
    result["quick"] = args.quick
    print(f"{'figure':<40}{'value':>14}")
    for key, value in result.items():
        print(f"{key:<40}{value!s:>14}")
    name = "feature_store_quick.json" if args.quick else "feature_store.json"
    (HERE / "results" / name).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
