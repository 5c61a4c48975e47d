"""Bulk import throughput: catalog import to fully processed, against the encoders' ceiling.

Three sets: 10,000 Home Depot product titles (short texts;
``../shared/data/homedepot-search-relevance``, benchmark use only), the 5,183
BEIR SciFact passages (long texts) and the 723 Kenney arcade sprites (images,
titled by file name). Each set is imported into a fresh platform while one
pipeline worker (the batch consumer ``agora worker`` runs) processes it; the
import calls ``AssetService.create`` per item, the call ``POST /assets:batch``
and ``agora import`` make per line (images: ``POST /assets``).

Per set: ``accepted_per_s`` (import alone), ``processed_per_s`` (assets over
the seconds from the first create to the last settled asset), ``last_searchable_s``
and ``ceiling_per_s``: the same encoder calls the pipeline makes for those
inputs (every model it runs: MiniLM for the index passage, the moderation text
and the tagging text; EfficientNet-Lite0 for indexing and item category,
OpenNSFW and NudeNet per image, the tagging feature extractor), in batches of
64, nothing else running, measured in the same run. ``ratio`` =
processed / ceiling (goal >= 0.8 on a quiet machine).

Modes: ``embedded`` (SQLite + embedded bus), ``server`` (PostgreSQL + Redis),
``loaded`` (embedded, one CPU burner process beside it). ``search_during_import``:
hybrid search p95 while the titles import runs vs idle (goal <= 2x).

Run: ``.venv/bin/python benchmarks/bulk_import.py [--quick]``; writes
``benchmarks/results/bulk_import.json`` (``--quick``: ``bulk_import_quick.json``)
and prints a table. The machine's load average is recorded beside the figures.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from sqlalchemy import func, select

from agora.catalog import Upload
from agora.config import Settings
from agora.encoders.image import to_rgb
from agora.encoders.text import truncate_words
from agora.moderation.embeddings import MAX_CHARS
from agora.moderation.text import listing_text
from agora.ops.interactive import interactive
from agora.runtime import Platform
from agora.search.base import SearchQuery
from agora.search.indexer import passage_text
from agora.storage.jobs import TERMINAL
from agora.storage.tables import JobRow

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RESULTS = Path(__file__).parent / "results"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
FULL = {"titles": 10_000, "passages": 5_183, "images": 723}
QUICK = {"titles": 160, "passages": 64, "images": 64}
CEILING_BATCH = 64
Item = tuple[dict[str, Any], bytes | None]


def titles(n: int) -> list[Item]:
    """The first ``n`` distinct Home Depot product titles."""
    seen: dict[str, None] = {}
    with (DATA / "homedepot-search-relevance" / "train.csv").open(encoding="latin-1") as fh:
        for row in csv.DictReader(fh):
            seen.setdefault(row["product_title"].strip(), None)
            if len(seen) >= n:
                break
    return [({"title": t[:200], "description": "", "tags": []}, None) for t in seen]


def passages(n: int) -> list[Item]:
    """The first ``n`` SciFact passages (title + abstract)."""
    out: list[Item] = []
    with (DATA / "beir-scifact" / "corpus.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            title = (doc.get("title") or doc["_id"])[:200]
            out.append(({"title": title, "description": doc["text"][:20_000], "tags": []}, None))
            if len(out) >= n:
                break
    return out


def sprites(n: int) -> list[Item]:
    """The first ``n`` Kenney sprites (sorted paths), titled by their file name."""
    paths = sorted((DATA / "arcade-kenney-sprites").rglob("*.png"))[:n]
    return [
        ({"title": p.stem.replace("_", " "), "description": "", "tags": [p.parent.name]},
         p.read_bytes())
        for p in paths
    ]  # fmt: skip


LOADERS: dict[str, Callable[[int], list[Item]]] = {
    "titles": titles, "passages": passages, "images": sprites,
}  # fmt: skip


def _create(platform: Platform, item: Item, n: int) -> str:
    meta, image = item
    uploads = [Upload(f"sprite{n}.png", image)] if image else []
    return platform.assets.create(meta | {"seller_id": "s1"}, [], uploads, "bench").job_id


def _open_jobs(platform: Platform) -> int:
    with platform.db.session() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(JobRow)
                .where(JobRow.kind == "pipeline", JobRow.status.not_in(list(TERMINAL)))
            )
            or 0
        )


@contextmanager
def worker(platform: Platform) -> Iterator[None]:
    """The pipeline consumer of a worker process, on a thread, until the block ends."""
    stop = threading.Event()
    consumer = platform.pipeline_runner().consumer(f"bench-{uuid.uuid4().hex[:6]}")
    batch = platform.settings.pipeline.batch_max_assets
    thread = threading.Thread(
        target=consumer.run_forever, args=(stop,), kwargs={"max_count": batch}, daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=120)


def import_set(platform: Platform, items: list[Item]) -> dict[str, float]:
    """Import ``items`` while the worker runs; accepted and processed rates."""
    t0 = time.perf_counter()
    for n, item in enumerate(items):
        _create(platform, item, n)
    accepted_s = time.perf_counter() - t0
    while _open_jobs(platform) > 0:  # the pipeline settles every job, then we stop
        time.sleep(0.2)
    done_s = time.perf_counter() - t0
    return {
        "assets": len(items),
        "accepted_per_s": round(len(items) / accepted_s, 2),
        "processed_per_s": round(len(items) / done_s, 2),
        "last_searchable_s": round(done_s, 1),
    }


def ceiling(platform: Platform, items: list[Item]) -> float:
    """Assets/s of the encoder calls the pipeline makes for ``items``, batches of 64."""
    text = platform.encoders.text(platform.settings.search.text_profile).model
    assets = [meta | {"id": str(i)} for i, (meta, _) in enumerate(items)]
    index_texts = [passage_text(a) for a in assets]
    moderation_texts = [truncate_words(listing_text(a), MAX_CHARS) for a in assets]
    tagging_texts = [
        ". ".join(p.strip() for p in (a["title"], a["description"], ", ".join(a["tags"])) if p)
        for a, (_, img) in zip(assets, items, strict=True)
        if img is None  # with images the text tagger is skipped (accuracy_mode "fast")
    ]
    decoded = [Image.open(io.BytesIO(img)) for _, img in items if img is not None]
    for im in decoded:
        im.load()
    t0 = time.perf_counter()
    for start in range(0, len(assets), CEILING_BATCH):
        text.encode_passages(index_texts[start : start + CEILING_BATCH])
        text.encode_queries(moderation_texts[start : start + CEILING_BATCH])
    for start in range(0, len(tagging_texts), CEILING_BATCH):
        text.encode_passages(tagging_texts[start : start + CEILING_BATCH])
    if decoded:
        _image_ceiling(platform, decoded)
    return round(len(items) / (time.perf_counter() - t0), 2)


def _image_ceiling(platform: Platform, decoded: list[Image.Image]) -> None:
    lite0 = platform.encoders.image().model
    safety = platform.moderation.images
    safety._load()
    extractor = platform.tagging.extractor
    rgb = [to_rgb(im) for im in decoded]
    plain = [im.convert("RGB") for im in decoded]  # moderation's item category input
    differ = [p for p, r in zip(plain, rgb, strict=True) if p.tobytes() != r.tobytes()]
    for start in range(0, len(decoded), CEILING_BATCH):
        lite0.encode_images(rgb[start : start + CEILING_BATCH])
        extractor._extract(decoded[start : start + CEILING_BATCH])
    for start in range(0, len(differ), CEILING_BATCH):
        lite0.encode_images(differ[start : start + CEILING_BATCH])
    for im in plain:  # OpenNSFW and NudeNet take one image per call
        safety._nsfw.classify(im)
        safety._nude.detect(np.ascontiguousarray(np.asarray(im)[:, :, ::-1]))


def _search_p95(platform: Platform, queries: list[str], stop: threading.Event | None) -> float:
    lat: list[float] = []
    i = 0
    while (stop is None and i < len(queries)) or (stop is not None and not stop.is_set()):
        t0 = time.perf_counter()
        with interactive():  # what the API's middleware marks for every search request
            platform.search.search(SearchQuery(text=queries[i % len(queries)], limit=10))
        lat.append(time.perf_counter() - t0)
        i += 1
        if stop is not None:
            stop.wait(0.05)
    return float(np.percentile(lat, 95) * 1000) if lat else float("nan")


@contextmanager
def platform_for(mode: str, root: Path) -> Iterator[Platform]:
    """A fresh platform: embedded, or PostgreSQL + Redis (fresh database and prefix)."""
    overrides: dict[str, Any] = {"data_dir": root / f"agora-{uuid.uuid4().hex[:6]}"}
    name = None
    if mode == "server":
        import psycopg

        name = f"agora_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        overrides["catalog"] = {"url": PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"}
        overrides["bus"] = {"url": "redis://127.0.0.1:6379/0", "stream_prefix": name}
    # Class-name embeddings (ConSE, item categories) are computed once per run,
    # not once per platform: copied into each fresh data dir.
    shared, own = root / "encoders-cache", overrides["data_dir"] / "encoders"
    if shared.is_dir():
        shutil.copytree(shared, own)
    platform = Platform.build(Settings.load(**overrides))
    platform.people.upsert_seller("s1", {"name": "Bench", "trust_score": 0.9}, "bench")
    try:
        yield platform
    finally:
        platform.close()
        if own.is_dir() and not shared.is_dir():
            shutil.copytree(own, shared)
        if name is not None:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def warm_items(n: int, *, images: bool) -> list[Item]:
    """Listings outside every set (noise pictures): they load the models, and no
    vector of theirs is in a cache the timed set could hit."""
    rng = np.random.default_rng(7)
    out: list[Item] = []
    for i in range(n):
        image = None
        if images:
            buf = io.BytesIO()
            pixels = rng.integers(0, 255, (40, 40, 4), dtype=np.uint8)
            Image.fromarray(pixels, "RGBA").save(buf, format="PNG")
            image = buf.getvalue()
        out.append(({"title": f"warm-up listing {i}", "description": "", "tags": []}, image))
    return out


def _warm(platform: Platform, items: list[Item]) -> None:
    """Load every model (not timed): a few assets through the pipeline."""
    with worker(platform):
        for n, item in enumerate(items):
            _create(platform, item, 10_000_000 + n)
        while _open_jobs(platform) > 0:
            time.sleep(0.2)


def run_set(mode: str, name: str, items: list[Item], root: Path) -> dict[str, Any]:
    """One set in one mode: import figures, the ceiling, their ratio."""
    with platform_for(mode, root) as platform:
        _warm(platform, warm_items(8, images=name == "images"))
        with worker(platform):
            out: dict[str, Any] = import_set(platform, items)
        out["ceiling_per_s"] = ceiling(platform, items)
    out["ratio"] = round(out["processed_per_s"] / out["ceiling_per_s"], 3)
    return out


def search_during_import(items: list[Item], root: Path) -> dict[str, float]:
    """Hybrid search p95 idle and while ``items`` import (same platform, same queries)."""
    queries = ["cordless drill", "white paint", "garden hose", "led light bulb", "door lock"]
    with platform_for("embedded", root) as platform:
        _warm(platform, warm_items(8, images=False))
        with worker(platform):
            import_set(platform, items[:64])  # something to find while idle
        idle = _search_p95(platform, queries * 8, None)
        stop = threading.Event()
        box: list[float] = []
        searcher = threading.Thread(target=lambda: box.append(_search_p95(platform, queries, stop)))
        with worker(platform):
            searcher.start()
            import_set(platform, items[64:])
            stop.set()
            searcher.join()
    return {"idle_p95_ms": round(idle, 1), "import_p95_ms": round(box[0], 1),
            "p95_ratio": round(box[0] / idle, 2)}  # fmt: skip


def _burn(stop: Any) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="subsets: a few minutes")
    parser.add_argument("--modes", default="embedded,server,loaded")
    parser.add_argument("--no-search", action="store_true", help="skip search_during_import")
    parser.add_argument("--limit", type=int, default=0, help="cap every set (smoke runs)")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    if args.limit:
        sizes = {k: min(v, args.limit) for k, v in sizes.items()}
    sets = {name: LOADERS[name](n) for name, n in sizes.items()}
    report: dict[str, Any] = {
        "quick": args.quick, "sizes": {k: len(v) for k, v in sets.items()},
        "cpus": os.cpu_count(), "loadavg_before": os.getloadavg(),
        "note": "measured on a shared machine (other helpers' jobs running): see loadavg",
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for mode in args.modes.split(","):
            burner = None
            if mode == "loaded":
                stop = multiprocessing.Event()
                burner = multiprocessing.Process(target=_burn, args=(stop,), daemon=True)
                burner.start()
            try:
                base = "server" if mode == "server" else "embedded"
                report[mode] = {
                    name: run_set(base, name, items, root) for name, items in sets.items()
                }
            finally:
                if burner is not None:
                    stop.set()
                    burner.join(timeout=10)
            report[mode]["loadavg_after"] = os.getloadavg()
            print(mode, json.dumps(report[mode]), flush=True)
        if not args.no_search:
            report["search_during_import"] = search_during_import(sets["titles"], root)
    report["loadavg_after"] = os.getloadavg()
    if args.limit:
        print(json.dumps(report, indent=2))
        return  # a smoke run writes no results
    out = RESULTS / ("bulk_import_quick.json" if args.quick else "bulk_import.json")
    if out.is_file():  # a run of some modes updates those, keeps the others
        report = json.loads(out.read_text()) | report
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n{'mode':10} {'set':9} {'accepted/s':>10} {'processed/s':>11} {'ceiling/s':>9} ratio")
    for mode in ("embedded", "server", "loaded"):
        for name, r in report.get(mode, {}).items():
            if not isinstance(r, dict):
                continue
            print(f"{mode:10} {name:9} {r['accepted_per_s']:>10} {r['processed_per_s']:>11} "
                  f"{r['ceiling_per_s']:>9} {r['ratio']}")  # fmt: skip
    print("search p95 during import / idle:", report.get("search_during_import"))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
