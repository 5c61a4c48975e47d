"""Image condition grading: Spearman of ``condition_score`` with the degradation strength.

The rows are built by the training pipeline's own code
(``agora.mlops.training.condition.build_rows``): Kenney sprites and city
textures split by image (seeded) into training and held-out images, each
degraded by the training types (blur, noise, JPEG, exposure) at stratified
random strengths; the held-out images also by the two types never used in
fitting (motion blur, downscale-upscale), and photos of two other sources
(UKBench camera photos, face-pairs web photos) by every type. Figures
(Spearman's rank correlation between predicted damage, ``1 -
condition_score``, and the true strength; 1 is a perfect order):

* ``spearman``: held-out images, training types (the gated figure; goal >= 0.8);
* ``spearman.unseen.<type>`` / ``spearman.unseen``: held-out images, unseen types;
* ``spearman.other_source.<source>`` (``.unseen``): photos, trained on art only;
* ``classical_only.*``: the same figures for a model on the classical measures
  alone (no encoder features), the ablation anchor;
* ``grade.p50_ms``: measures + model for one 512 px image (the encoder pass
  is shared with the item category and not counted).

Run: ``.venv/bin/python benchmarks/condition.py [--quick]`` (``--quick``:
a small sample, not written to the JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from agora.encoders.image import EfficientNetLite0Encoder
from agora.mlops.training.condition import build_rows, condition_metrics
from agora.vision.condition import ConditionModel
from agora.vision.measures import measure_vector

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OUT = Path(__file__).resolve().parent / "results" / "condition.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if not (DATA / "arcade-kenney-sprites").is_dir():
        raise SystemExit(f"needs {DATA}/arcade-kenney-sprites")
    load_start = os.getloadavg()[0]
    started = time.perf_counter()
    encoder = EfficientNetLite0Encoder()
    sizes = (
        {"train_images": 40, "test_images": 16, "other_limit": 8}
        if args.quick
        else {"train_images": 240, "test_images": 80, "other_limit": 64}
    )
    train, held, snapshot = build_rows(
        DATA,
        encoder,
        per_kind=2,
        other_sources=("ukbench", "face_photos"),
        report=lambda pct, msg: print(f"  {pct:5.1f}% {msg}", flush=True),
        **sizes,
    )
    out: dict[str, Any] = {}
    full = ConditionModel().fit(train.measures, train.features, train.strengths)
    out |= condition_metrics(full, held)
    classical = ConditionModel(pca_dims=0).fit(train.measures, None, train.strengths)
    out |= {f"classical_only.{k}": v for k, v in condition_metrics(classical, held).items()}
    # Serving cost of the grade itself on a held-out-sized picture.
    from agora.vision.corpus import load_source

    picture = load_source(DATA, "ukbench", 1)[0]
    timings = []
    feats = train.features[:1]
    for _ in range(15):
        t0 = time.perf_counter()
        full.score(measure_vector(picture)[None, :].astype(np.float64), feats)
        timings.append((time.perf_counter() - t0) * 1000)
    out["grade.p50_ms"] = float(np.median(timings))
    out["train_rows"] = len(train.strengths)
    out["held_out_rows"] = {k: len(v.strengths) for k, v in held.items()}
    out["data"] = snapshot
    out["seconds"] = round(time.perf_counter() - started, 1)
    out["loadavg"] = {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)}
    width = max(len(k) for k in out)
    for key, value in out.items():
        shown = f"{value:.3f}" if isinstance(value, float) else value
        print(f"{key:<{width}}  {shown}")
    if args.quick:
        print("--quick: not written")
        return
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
