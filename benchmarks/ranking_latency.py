"""Ranking latency: the whole pipeline, 1,000 candidates -> 20 results, in-process and HTTP.

World: a SIMULATED catalog (agora.ranking.simworld, 3,000 assets, 300 sellers)
with an embedded online store filled from simulated history, and pCTR/pCVR
trained on simulated impressions. Recall is a fixed 1,000-candidate source
over the catalog (a per-user sample), so the figures are the ranking stages'
own cost: pre-filter, hydration (real online-store reads), scoring (compiled
trees), diversity, fraud rules, sponsored slots and feature logging.

Also measured (``trees.*``): pCTR inference for 1,000 rows with LightGBM's
predictor (1 thread and default threads), the numba-compiled traversal and the
numpy traversal; the pipeline uses the compiled traversal.

HTTP: ``GET /api/v1/feed/{user}`` through the real app and router, uvicorn in a
separate process, 4 concurrent keep-alive clients; ``http.max_rps`` is the
best throughput of 4 and 8 clients.

Run: ``.venv/bin/python benchmarks/ranking_latency.py [--quick]``
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from agora.config import RankingSettings
from agora.ranking.base import STAGES, RankRequest
from agora.ranking.catalog import SnapshotHolder
from agora.ranking.fasttrees import CompiledForest
from agora.ranking.hydration import FEATURES
from agora.ranking.models import CtrModel
from agora.ranking.pipeline import RankingPipeline
from agora.ranking.scoring import Scorer, Weights
from agora.ranking.simworld import SimWorld
from agora.recommend.base import Recommendations, ScoredItem

RESULTS = Path(__file__).resolve().parent / "results" / "ranking_latency.json"
N_ASSETS, N_USERS, N_CAND = 3000, 300, 1000


class SampledRecall:
    """Recall stand-in: 1,000 catalog ids per user (deterministic), in the recommender shape."""

    model = "bench-sample@1"

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids

    def recommend(self, user_id: str, n: int = 10) -> Recommendations:
        picked = random.Random(user_id).sample(self.ids, min(n, len(self.ids)))
        items = [ScoredItem(a, 1.0 / (1 + k), "sample") for k, a in enumerate(picked)]
        return Recommendations(user_id, items, "sample", self.model)


def build(root: str, quick: bool) -> tuple[SimWorld, RankingPipeline, CtrModel]:
    world = SimWorld.build(
        n_assets=N_ASSETS, n_users=N_USERS, seed=3, root=root, history=1500 if quick else 6000
    )
    for r in random.Random(1).sample(range(N_ASSETS), 6):
        world.snap.sponsored_bid[r] = 1.0
    x, clicked, bought, _ = world.training_set(world.sessions(1500 if quick else 4000))
    pctr = CtrModel(n_estimators=60).fit(x, clicked, feature_names=FEATURES)
    pcvr = CtrModel(name="ranking-pcvr", n_estimators=40).fit(x, bought, feature_names=FEATURES)
    cfg = RankingSettings(max_candidates=N_CAND)
    pipe = RankingPipeline(
        cfg,
        SnapshotHolder(lambda: world.snap, refresh_s=1e12),
        scorer=Scorer(pctr, pcvr, weights=Weights(cfg.w_ctr, cfg.w_cvr, cfg.w_trust)),
        recommender=SampledRecall(list(world.snap.ids)),
        online=world.store,
        user_geo=lambda u: ("eu", None, None),
        half_life_s=7 * 24 * 3600.0,
    )
    pipe.warm()
    return world, pipe, pctr


def percentiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {p: float(np.percentile(a, q)) for p, q in (("p50", 50), ("p95", 95), ("p99", 99))}


def trees(pctr: CtrModel, x: np.ndarray, reps: int) -> dict[str, float]:
    forest = CompiledForest.from_booster(pctr.booster)
    forest.predict_raw(x[:1])
    runs = {
        "lightgbm_1thread": lambda: pctr.booster.predict(x, raw_score=True, num_threads=1),
        "lightgbm_default": lambda: pctr.booster.predict(x, raw_score=True),
        "compiled_numba": lambda: forest.predict_raw(x),
        "numpy_traversal": lambda: forest.predict_raw_numpy(x),
    }
    out = {}
    for name, fn in runs.items():
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
        out[f"trees.{name}.p50_ms"] = float(np.median(times))
    return out


def inprocess(world: SimWorld, pipe: RankingPipeline, n: int) -> dict[str, float]:
    users = list(world.sim.users)
    total: list[float] = []
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    trending = 0
    for i in range(n):
        t = time.perf_counter()
        out = pipe.rank(RankRequest(user_id=users[i % len(users)]))
        total.append((time.perf_counter() - t) * 1000)
        trending += out.trending
        for s in STAGES:
            if s in out.timings_ms:
                stages[s].append(out.timings_ms[s])
    p = percentiles(total)
    res = {f"inprocess.{k}_ms": v for k, v in p.items()}
    res["inprocess.trending_fallbacks"] = float(trending)
    for s, values in stages.items():
        if values:
            res[f"stage.{s}.p50_ms"] = float(np.median(values))
    return res


def serve(port: int, root: str, quick: bool) -> None:
    """Child process: the real app with this benchmark's pipeline as platform.ranking."""
    import uvicorn

    from agora.api.app import create_app
    from agora.config import Settings
    from agora.ranking.feature_log import FeatureLog
    from agora.ranking.service import RankingService
    from agora.runtime import Platform

    _, pipe, _ = build(root + "/online", quick)

    class BenchmarkPlatform(Platform):
        """The real platform, whose ranking service runs this benchmark's pipeline."""

        @cached_property
        def ranking(self) -> RankingService:
            service = RankingService(
                self.settings.ranking, pipe, FeatureLog(self.db), self.canary_monitor
            )
            self._closes(service.close)
            return service

    platform = BenchmarkPlatform.build(Settings.load(data_dir=Path(root) / "agora"))
    # The benchmark measures the pipeline, not the per-key rate limit (429s).
    token = platform.keys.create(["read"], rate_limit_per_minute=100_000_000).token
    (Path(root) / "token").write_text(token)
    app = create_app(platform, start_background=False)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def http(port: int, token: str, users: list[str], clients: int, seconds: float) -> dict[str, Any]:
    import httpx

    lat: list[float] = []
    errors = [0]
    stop = time.perf_counter() + seconds

    def worker(k: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10.0) as c:
            i = k
            while time.perf_counter() < stop:
                t = time.perf_counter()
                r = c.get(f"/api/v1/feed/{users[i % len(users)]}",
                          headers={"Authorization": f"Bearer {token}"})  # fmt: skip
                if r.status_code == 200:  # an error's latency is not a served feed's
                    lat.append((time.perf_counter() - t) * 1000)
                else:
                    errors[0] += 1
                i += clients

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - started
    return {"lat": lat, "rps": len(lat) / wall, "errors": errors[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "ROOT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1], args.quick)
        return 0
    from agora.testing.net import free_port

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as root:
        world, pipe, pctr = build(root + "/online", args.quick)
        rows = world.snap.rows(world.snap.ids[:N_CAND])
        x = world.features("u1", [world.snap.ids[r] for r in rows])
        results |= trees(pctr, x, 50 if args.quick else 300)
        inprocess(world, pipe, 30)  # warm-up
        results |= inprocess(world, pipe, 200 if args.quick else 2000)
        pipe.close()

        port = free_port()
        cmd = [sys.executable, __file__, "--serve", str(port), root]
        if args.quick:
            cmd.insert(2, "--quick")
        server = subprocess.Popen(cmd)
        try:
            token_file = Path(root) / "token"
            deadline = time.time() + 300
            import httpx

            while time.time() < deadline:
                try:
                    if (
                        token_file.exists()
                        and httpx.get(f"http://127.0.0.1:{port}/healthz").status_code < 500
                    ):
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            token = token_file.read_text()
            users = list(world.sim.users)
            http(port, token, users, 4, 3.0)  # warm-up
            secs = 5.0 if args.quick else 30.0
            four = http(port, token, users, 4, secs)
            eight = http(port, token, users, 8, secs / 2)
            p = percentiles(four["lat"])
            results |= {f"http.{k}_ms": v for k, v in p.items()}
            results["http.max_rps"] = max(four["rps"], eight["rps"])
            results["http.rps_4_clients"] = four["rps"]
            results["http.rps_8_clients"] = eight["rps"]
            results["http.errors"] = float(four["errors"] + eight["errors"])
        finally:
            server.terminate()
            server.wait(30)
    print(f"{'figure':34s} value")
    for key, value in sorted(results.items()):
        print(f"{key:34s} {value:9.3f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
