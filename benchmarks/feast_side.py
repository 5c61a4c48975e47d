"""Feast 0.67 side of benchmarks/feature_store.py, run inside Feast's own virtualenv.

    python feast_side.py hydrate WORKDIR N_ENTITIES N_FEATURES BATCH REPS
    python feast_side.py pit WORKDIR N_LABELS
Prints one JSON line. SQLite online store, file offline store, as in Feast's quickstart.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

START = datetime(2024, 1, 1, tzinfo=UTC)
YEAR_S = 365 * 86400


def repo(work: Path, source: Path, n_features: int, ttl_days: int):  # type: ignore[no-untyped-def]
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64

    (work / "data").mkdir(parents=True, exist_ok=True)
    (work / "feature_store.yaml").write_text(
        "project: bench\nregistry: data/registry.db\nprovider: local\n"
        "online_store:\n  type: sqlite\n  path: data/online.db\n"
        "offline_store:\n  type: file\nentity_key_serialization_version: 3\n"
    )
    entity = Entity(name="asset", join_keys=["asset_id"], value_type=ValueType.INT64)
    src = FileSource(
        path=str(source),
        timestamp_field="event_timestamp",
        created_timestamp_column="created_timestamp",
    )
    view = FeatureView(
        name="asset_stats",
        entities=[entity],
        ttl=timedelta(days=ttl_days),
        schema=[Field(name=f"f{i}", dtype=Float64) for i in range(n_features)],
        source=src,
        online=True,
    )
    store = FeatureStore(repo_path=str(work))
    store.apply([entity, view])
    return store


def hydrate(work: Path, n: int, n_features: int, batch: int, reps: int) -> dict[str, float]:
    rng = np.random.default_rng(3)
    ts = pd.Timestamp(START)
    df = pd.DataFrame({"asset_id": np.arange(n, dtype=np.int64)})
    for i in range(n_features):
        df[f"f{i}"] = rng.random(n)
    df["event_timestamp"] = ts
    df["created_timestamp"] = ts
    source = work / "features.parquet"
    df.to_parquet(source)
    store = repo(work, source, n_features, ttl_days=3650)
    t0 = time.perf_counter()
    store.write_to_online_store("asset_stats", df)
    load_s = time.perf_counter() - t0
    features = [f"asset_stats:f{i}" for i in range(n_features)]
    times = []
    for r in range(reps + 2):
        ids = rng.choice(n, batch, replace=False)
        rows = [{"asset_id": int(i)} for i in ids]
        t = time.perf_counter()
        out = store.get_online_features(features=features, entity_rows=rows).to_dict()
        if r >= 2:  # warm-up
            times.append((time.perf_counter() - t) * 1000)
        assert len(out["asset_id"]) == batch
    return {
        "p50_ms": float(np.percentile(times, 50)),
        "p99_ms": float(np.percentile(times, 99)),
        "load_s": load_s,
    }


def pit(work: Path, n_labels: int) -> dict[str, float]:
    """Same shape as the Agora PIT benchmark: 10 feature rows per label, late rows."""
    rng = np.random.default_rng(7)
    n_entities = max(n_labels // 10, 1)
    rows = 10 * n_labels
    event = rng.integers(0, YEAR_S, rows)
    delay = np.where(rng.random(rows) < 0.2, rng.integers(0, 2 * 86400, rows), 0)
    base = pd.Timestamp(START)
    df = pd.DataFrame(
        {
            "asset_id": rng.integers(0, n_entities, rows),
            "event_timestamp": base + pd.to_timedelta(event, unit="s"),
            "created_timestamp": base + pd.to_timedelta(event + delay, unit="s"),
            "f0": rng.integers(0, 100, rows).astype(float),
            "f1": rng.random(rows),
        }
    )
    source = work / "pit.parquet"
    df.to_parquet(source)
    store = repo(work, source, 2, ttl_days=30)
    labels = pd.DataFrame(
        {
            "asset_id": rng.integers(0, n_entities, n_labels),
            "event_timestamp": base + pd.to_timedelta(rng.integers(0, YEAR_S, n_labels), unit="s"),
        }
    )
    t = time.perf_counter()
    out = store.get_historical_features(
        entity_df=labels, features=["asset_stats:f0", "asset_stats:f1"]
    ).to_df()
    wall = time.perf_counter() - t
    return {"wall_s": wall, "rows": n_labels, "found": int(out["f0"].notna().sum())}


def main() -> None:
    mode, work = sys.argv[1], Path(sys.argv[2])
    work.mkdir(parents=True, exist_ok=True)
    if mode == "hydrate":
        n, nf, batch, reps = (int(x) for x in sys.argv[3:7])
        print(json.dumps(hydrate(work, n, nf, batch, reps)))
    else:
        print(json.dumps(pit(work, int(sys.argv[3]))))


if __name__ == "__main__":
    main()
