"""Tagging speed on this CPU: single-asset latency, batch throughput, 50 concurrent requests.

Each request is the whole local path of ``TaggingService.tag_asset``: consent
lookup, blob reads, image features (one EfficientNet-Lite0 pass on the
padded image), zero-shot image and text taggers, file analysis, trained
heads (a champion trained from 5 confirmed sprites per folder first),
aggregation, persistence and the audit entry. Assets are Kenney sprites with
a title and a description.

Figures (issue 4): ``single.p50_ms``, ``single.p95_ms`` (sequential requests
after warm-up), ``batch.assets_per_min`` (4 worker threads, as a pipeline
consumer pool would run), ``concurrent50.errors`` (50 requests at once).

Run: ``python benchmarks/tagging_speed.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "arcade-kenney-sprites"
RESULTS = ROOT / "benchmarks" / "results" / "tagging_speed.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from agora.config import Settings
    from agora.runtime import Platform
    from agora.storage.tables import AssetRow, SellerRow

    n_single, n_batch = (15, 30) if args.quick else (60, 120)
    files = sorted(DATA.glob("images/**/*.png"))[:: max(1, 700 // (n_batch + 60))]
    tmp = Path(tempfile.mkdtemp(prefix="agora-tagspeed-"))
    # Training is explicit here (once, below), not started by the feedback.
    settings = Settings.load(data_dir=tmp / "agora", tagging={"auto_retrain": False})
    platform = Platform.build(settings)
    service = platform.tagging
    platform.consent.put("kenney", {"allows_model_training": True}, actor="bench")
    ids = []
    with platform.db.session() as s:
        s.add(SellerRow(id="kenney", name="Kenney", attributes={}))
        s.flush()
        for i, path in enumerate(files):
            data = path.read_bytes()
            ref = platform.blobs.put(data, name=path.name, media_type="image/png", kind="image")
            image = {"sha256": ref.sha256, "name": path.name, "size": len(data),
                     "media_type": "image/png"}  # fmt: skip
            ids.append(f"s{i:04d}")
            s.add(AssetRow(
                id=ids[-1], seller_id="kenney",
                title=f"{path.parent.name.replace('_', ' ')} sprite",
                description="A 2D game sprite from a CC0 asset pack, ready for your platformer.",
                creator_tags=["2d"], images=[image],
            ))  # fmt: skip
    # A champion head, as a deployment that received feedback would have.
    for asset_id in ids[:40]:
        service.tag_asset(asset_id, actor="bench")
    for asset_id in ids[:40]:
        label = "tile" if int(asset_id[1:]) % 2 else "item"
        service.feedback(
            asset_id, [{"name": label, "verdict": "confirm"}], role="creator", actor="bench"
        )
    service.train(actor="bench")

    latencies = []
    for asset_id in ids[40 : 40 + n_single]:
        t = time.perf_counter()
        service.tag_asset(asset_id, actor="bench")
        latencies.append((time.perf_counter() - t) * 1000)
    batch = ids[:n_batch]
    t = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda a: service.tag_asset(a, actor="bench"), batch))
    per_min = len(batch) / (time.perf_counter() - t) * 60

    errors = 0

    def one(asset_id: str) -> None:
        nonlocal errors
        try:
            service.tag_asset(asset_id, actor="bench")
        # Any failure is a data point of the benchmark: counted and shown, the run goes on.
        except Exception as exc:  # noqa: BLE001
            errors += 1
            print(f"error: {exc!r}", file=sys.stderr)

    with ThreadPoolExecutor(50) as pool:
        list(pool.map(one, ids[:50]))
    platform.close()
    results = {
        "single.p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "single.p95_ms": round(float(np.percentile(latencies, 95)), 1),
        "batch.assets_per_min": round(per_min, 1),
        "concurrent50.errors": errors,
        "single.n": len(latencies),
        "batch.n": len(batch),
    }
    for key, value in results.items():
        print(f"{key:24s} {value}")
    out = RESULTS if not args.quick else RESULTS.with_suffix(".quick.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, sort_keys=True))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
