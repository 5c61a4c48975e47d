"""Recommendation speed: ALS fit time, HTTP serving latency (cached and uncached), memory.

- ``fit_als_ml100k_s``: ALS as the product configures it (``recommend.als_*``
  settings: 200 factors, L2 30, alpha 4; 15 iterations, implicit, all cores) on
  MovieLens-100k (943 x 1,682, 100k interactions).
- ``fit_als_1m_s``: the same on a 1M-interaction matrix built by resampling
  MovieLens users: each synthetic user copies the item set of a random real
  user, keeping each item with probability 0.8 (so users differ), until the
  matrix holds at least 1,000,000 interactions (~13k users x 1,682 items;
  item popularity and user activity keep MovieLens' shape).
- ``serve.*``: an embedded platform (SQLite catalog) holding MovieLens-100k as
  the catalog (1,682 assets, 943 users, 100k view events), models trained
  through the model store (the hybrid as the product trains it: the default
  LTR re-ranker), served by uvicorn on loopback; a keep-alive HTTP
  client asks ``GET /api/v1/recommendations/{user}?n=10&algorithm=hybrid``
  for every user once (uncached: model scoring + catalog filter) and then
  again (cached: TTL cache + in-process catalog gate). p50/p99 in ms. The 20
  warm-up users (model loading, first queries) are not measured.
  ``serve.floor.*``: the same client, server and middleware on an async route
  that returns at once (as many requests): the harness's own cost, the part
  of a cached request no service code can remove.
- ``serve.transformer.*``: the same server asked
  ``GET /api/v1/recommendations/{user}?n=10&algorithm=transformer&session_views=...``
  with three session views per request (never cached: a list with a session
  is computed each time): the user's history and the session through the
  self-attentive model, in-process on the CPU, plus the catalog filter.
  ``--transformer-only`` measures just this, with a one-epoch model (the
  latency depends on the architecture, not the training length), and merges
  the figures into the results file.
- ``peak_rss_mb``: peak resident memory of this process.

Run: ``.venv/bin/python benchmarks/recommend_speed.py [--quick] [--transformer-only]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from agora.recommend.base import InteractionMatrix  # noqa: E402
from agora.recommend.mf import AlsRecommender  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "movielens-100k-recbole" / "ml-100k.inter"


def load_pairs() -> list[tuple[str, str, float]]:
    rows = []
    with DATA.open() as fh:
        next(fh)
        for line in fh:
            u, i, _r, ts = line.rstrip("\n").split("\t")
            rows.append((u, i, float(ts)))
    return rows


def resampled(data: InteractionMatrix, target: int, seed: int = 0) -> InteractionMatrix:
    """At least ``target`` interactions by copying random users' item sets (80% kept)."""
    rng = np.random.default_rng(seed)
    m = data.matrix
    triples: list[tuple[str, str, float]] = []
    k = 0
    while len(triples) < target:
        row = int(rng.integers(m.shape[0]))
        items = m.indices[m.indptr[row] : m.indptr[row + 1]]
        kept = items[rng.random(len(items)) < 0.8]
        triples += [(f"s{k}", data.item_ids[j], 1.0) for j in kept]
        k += 1
    return InteractionMatrix.from_triples(triples)


def fit_seconds(data: InteractionMatrix, iterations: int) -> float:
    from agora.config import RecommendSettings

    cfg = RecommendSettings()
    model = AlsRecommender(
        cfg.als_factors,
        regularization=cfg.als_regularization,
        alpha=cfg.als_alpha,
        iterations=iterations,
    )
    t0 = time.perf_counter()
    model.fit(data)
    return time.perf_counter() - t0


def build_platform(
    rows: list[tuple[str, str, float]], tmp: Path, *, transformer_only: bool = False
):  # type: ignore[no-untyped-def]
    from sqlalchemy import insert

    from agora.config import Settings
    from agora.recommend.jobs import refresh_trending, train
    from agora.recommend.tasks import job_services
    from agora.runtime import Platform
    from agora.storage.tables import AssetRow, InteractionRow, SellerRow, UserRow

    settings = Settings.load(data_dir=tmp / "agora", security={"auth_enabled": False})
    platform = Platform.build(settings)
    # MovieLens time is shifted so the last rating is "now": decay and trending see live data.
    shift = datetime.now(UTC).timestamp() - max(ts for _, _, ts in rows)
    items = sorted({i for _, i, _ in rows}, key=int)
    users = sorted({u for u, _, _ in rows}, key=int)
    with platform.db.session() as s, s.begin():
        s.execute(insert(SellerRow), [{"id": f"s{k}", "name": f"studio {k}"} for k in range(50)])
        s.execute(
            insert(AssetRow),
            [
                {
                    "id": f"m{i}",
                    "seller_id": f"s{int(i) % 50}",
                    "title": f"movie {i}",
                    "status": "active",
                }
                for i in items
            ],
        )
        s.execute(insert(UserRow), [{"id": f"u{u}"} for u in users])
        s.execute(
            insert(InteractionRow),
            [
                {
                    "event_id": f"e{n}",
                    "user_id": f"u{u}",
                    "asset_id": f"m{i}",
                    "type": "view",
                    "ts": datetime.fromtimestamp(ts + shift, UTC) - timedelta(seconds=1),
                }
                for n, (u, i, ts) in enumerate(rows)
            ],
        )
    services = job_services(platform)
    if transformer_only:
        fit_transformer(platform, epochs=1)
    else:
        # tune=True: the hybrid served is the one the product trains (the LTR
        # re-ranker by default; with recommend.hybrid_reranker="blend", the blend).
        train(services, tune=True)
    refresh_trending(services)
    return platform, [f"u{u}" for u in users]


def fit_transformer(platform, *, epochs: int) -> None:  # type: ignore[no-untyped-def]
    """The served transformer's configuration, fitted for ``epochs`` and saved."""
    from agora.recommend.jobs import training_matrix
    from agora.recommend.registry import neural_models
    from agora.recommend.sasrec import TransformerRecommender
    from agora.recommend.sequences import catalog_histories

    f = platform.settings.features
    data = training_matrix(platform.db, f, consented_only=False)
    model = neural_models()["transformer"]
    assert isinstance(model, TransformerRecommender)
    model.epochs = epochs
    positive = [t for t, w in f.affinity_weights.items() if w > 0]
    model.fit(data, sequences=catalog_histories(platform.db, positive))
    model.save(platform.models)


def transformer_latency(client, users: list[str], items: list[str]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Uncached transformer lists with a three-view session each (seeded)."""
    rng = np.random.default_rng(0)
    lat = []
    for u in users:
        views = [items[j] for j in rng.choice(len(items), 3, replace=False)]
        t0 = time.perf_counter()
        r = client.get(
            f"/api/v1/recommendations/{u}",
            params={"n": 10, "algorithm": "transformer", "session_views": views},
        )
        lat.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["algorithm"] == "transformer" and not body["cached"], body
    return {
        "serve.transformer.p50_ms": round(float(np.percentile(lat, 50)), 2),
        "serve.transformer.p99_ms": round(float(np.percentile(lat, 99)), 2),
    }


def serve_latency(
    platform, users: list[str], *, transformer_only: bool = False
) -> dict[str, float]:  # type: ignore[no-untyped-def]
    import httpx
    import uvicorn

    from agora.api.app import create_app
    from agora.testing.net import free_port

    port = free_port()
    app = create_app(platform, start_background=False)

    # The harness's floor: an async route that returns at once, through the
    # same middleware, server and client; what a cached list costs above it
    # is the service's (on a slow or busy machine the floor alone can pass 3 ms).
    @app.get("/bench/floor")
    async def floor() -> dict[str, str]:
        return {}

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    out: dict[str, float] = {}
    items = [f"m{j}" for j in range(1, 1683)]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        for u in users[:20] * 2:  # warm-up: model loading, first queries, the catalog gate
            for algorithm in ("transformer",) if transformer_only else ("ease", "hybrid"):
                client.get(f"/api/v1/recommendations/{u}", params={"n": 10, "algorithm": algorithm})
        out.update(transformer_latency(client, users[20:], items))
        if transformer_only:
            server.should_exit = True
            thread.join(timeout=10)
            return out
        for phase in ("uncached", "cached"):
            lat = []
            for u in users[20:]:
                t0 = time.perf_counter()
                r = client.get(
                    f"/api/v1/recommendations/{u}", params={"n": 10, "algorithm": "hybrid"}
                )
                lat.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, r.text
                assert r.json()["cached"] is (phase == "cached")
            out[f"serve.{phase}.p50_ms"] = round(float(np.percentile(lat, 50)), 2)
            out[f"serve.{phase}.p99_ms"] = round(float(np.percentile(lat, 99)), 2)
        lat = []
        for _ in users[20:]:
            t0 = time.perf_counter()
            r = client.get("/bench/floor")
            lat.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text
        out["serve.floor.p50_ms"] = round(float(np.percentile(lat, 50)), 2)
        out["serve.floor.p99_ms"] = round(float(np.percentile(lat, 99)), 2)
    server.should_exit = True
    thread.join(timeout=10)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer ALS iterations, 200 users")
    parser.add_argument(
        "--transformer-only",
        action="store_true",
        help="only serve.transformer.*, merged into the results file",
    )
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"MovieLens-100k not found at {DATA}")
    rows = load_pairs()
    result: dict[str, float] = {}
    if not args.transformer_only:
        ml = InteractionMatrix.from_triples((u, i, 1.0) for u, i, _ in rows)
        iters = 3 if args.quick else 15
        result["fit_als_ml100k_s"] = round(fit_seconds(ml, iters), 3)
        big = resampled(ml, 1_000_000)
        result["matrix_1m.users"] = big.shape[0]
        result["matrix_1m.interactions"] = len(big)
        result["fit_als_1m_s"] = round(fit_seconds(big, iters), 3)
    with tempfile.TemporaryDirectory() as tmp:
        platform, users = build_platform(rows, Path(tmp), transformer_only=args.transformer_only)
        try:
            chosen = users[:200] if args.quick else users
            result.update(serve_latency(platform, chosen, transformer_only=args.transformer_only))
        finally:
            platform.close()
    if not args.transformer_only:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        result["peak_rss_mb"] = round(rss, 1)
    for k, v in result.items():
        print(f"{k:<28}{v:>12}")
    print(
        "goals: serve.uncached.p99_ms < 20, serve.cached.p99_ms < 3, serve.transformer.p99_ms < 25"
    )
    out = ROOT / "benchmarks" / "results" / "recommend_speed.json"
    name = out if not args.quick else out.with_name("recommend_speed.quick.json")
    if args.transformer_only and name.exists():  # merged into the figures already there
        result = json.loads(name.read_text()) | result
    name.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"wrote {name}")


if __name__ == "__main__":
    main()
