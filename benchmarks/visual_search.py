"""Visual search quality on the Kenney arcade sprites: image-to-image and text-to-image (ConSE).

Run: ``.venv/bin/python benchmarks/visual_search.py [--quick] [--profile minilm]``

Labels: the top-level folder under ``images/`` (alien, cards, tiles, ...),
plus ``input_prompt`` and ``onscreen_controls`` as two more labels.

- image-to-image: every image queries the others by cosine of its
  EfficientNet-Lite0 features (exact search, itself excluded); precision@5 is
  the share of the 5 neighbours with the query's label. The headline
  ``kenney.precision@5`` averages the queries whose label has at least 6
  images (so 5 correct neighbours exist); per-label figures and the
  all-queries mean are written too.
- text-to-image: for each label a query naming its content (``TEXT_QUERIES``)
  is embedded by the text profile and matched against the images' ConSE
  vectors (ImageNet class probabilities -> convex combination of class-name
  embeddings); precision@5 against the label, averaged over the queries.

Image encodings are cached under ``benchmarks/.cache/visual_search/`` keyed by
the encoder key. Writes ``benchmarks/results/visual_search.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from agora.encoders import Encoders

# This benchmark's own encoders (in the product, the platform owns them).
ENCODERS = Encoders()
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "arcade-kenney-sprites"
CACHE = Path(__file__).resolve().parent / ".cache" / "visual_search"
RESULTS = Path(__file__).resolve().parent / "results" / "visual_search.json"
K = 5
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif"}

# One query per label naming what its images show (labels with mixed content,
# e.g. spritesheets and test_textures, have no query).
TEXT_QUERIES: dict[str, str] = {
    "alien": "alien",
    "animated_characters": "cartoon person",
    "cards": "playing card",
    "cybercity_background": "city skyline at night",
    "enemies": "monster",
    "items": "coin",
    "miami_synth_parallax": "sports car",
    "space_shooter": "spaceship",
    "tiles": "brick wall",
    "topdown_tanks": "tank",
    "input_prompt": "game controller button",
    "onscreen_controls": "arrow button icon",
}


def label_of(path: Path) -> str:
    rel = path.relative_to(DATA).parts
    return rel[1] if rel[0] == "images" else rel[0]


def images() -> list[Path]:
    found = [p for p in sorted(DATA.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES]
    # Files directly under images/ have no folder label.
    return [p for p in found if len(p.relative_to(DATA).parts) > 2 or p.parts[-2] != "images"]


def encode(paths: list[Path]) -> tuple[np.ndarray, np.ndarray, str, float]:
    """Features and class probabilities (cached), the encoder key, images/s when computed."""
    enc = ENCODERS.image()
    CACHE.mkdir(parents=True, exist_ok=True)
    cache = CACHE / f"{enc.info.key.replace('@', '_')}-{len(paths)}.npz"
    names = [str(p.relative_to(DATA)) for p in paths]
    if cache.exists():
        data = np.load(cache, allow_pickle=False)
        if list(data["names"]) == names:
            return data["features"], data["probs"], enc.info.key, float(data["rate"])
    feats, probs = [], []
    t0 = time.perf_counter()
    for start in range(0, len(paths), 32):
        batch = [Image.open(p) for p in paths[start : start + 32]]
        for img in batch:
            img.load()
        out = enc.encode_images(batch)
        feats.append(out.features)
        probs.append(out.class_probs)
        print(f"  encoded {start + len(batch)}/{len(paths)} images", flush=True)
    rate = len(paths) / (time.perf_counter() - t0)
    f, pr = np.vstack(feats), np.vstack(probs)
    np.savez(cache, names=np.array(names), features=f, probs=pr, rate=rate)
    return f, pr, enc.info.key, rate


def image_to_image(feats: np.ndarray, labels: list[str]) -> dict[str, list[float]]:
    sims = feats @ feats.T
    np.fill_diagonal(sims, -np.inf)
    top = np.argsort(-sims, axis=1)[:, :K]
    per: dict[str, list[float]] = defaultdict(list)
    for i, row in enumerate(top):
        per[labels[i]].append(sum(labels[j] == labels[i] for j in row) / K)
    return per


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="every 4th image only")
    ap.add_argument("--profile", default="minilm", help="text profile for ConSE queries")
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"Kenney sprites not found at {DATA}")
    paths = images()[:: 4 if args.quick else 1]
    labels = [label_of(p) for p in paths]
    feats, probs, image_key, rate = encode(paths)

    per = image_to_image(feats, labels)
    counts = {lab: labels.count(lab) for lab in set(labels)}
    eligible = [v for lab, vals in per.items() if counts[lab] > K for v in vals]
    everything = [v for vals in per.values() for v in vals]

    bridge = ENCODERS.conse(args.profile)
    conse = bridge.from_probs(probs)
    text = ENCODERS.text(args.profile)
    t2i: dict[str, float] = {}
    for lab, query in TEXT_QUERIES.items():
        if lab not in counts:
            continue
        q = text.encode_queries([query])[0]
        top = np.argsort(-(conse @ q))[:K]
        t2i[lab] = sum(labels[j] == lab for j in top) / K

    out: dict[str, float | str] = {
        "kenney.precision@5": float(np.mean(eligible)),
        "kenney.precision@5_all_queries": float(np.mean(everything)),
        "conse_text_to_image.precision@5": float(np.mean(list(t2i.values()))),
        "images": float(len(paths)),
        "image_encoder": image_key,
        "conse": bridge.info.key,
        "images_per_s_encode": rate,
        "anchor.chance.precision@5": float(
            sum((counts[lab] - 1) / (len(paths) - 1) * counts[lab] for lab in counts) / len(paths)
        ),
    }
    out |= {f"kenney.{lab}.precision@5": float(np.mean(v)) for lab, v in sorted(per.items())}
    out |= {f"conse_text_to_image.{lab}.precision@5": v for lab, v in sorted(t2i.items())}

    print(f"\n{'label':24} {'images':>6} {'img->img P@5':>13} {'text->img P@5':>14}  query")
    for lab in sorted(counts):
        t = t2i.get(lab)
        print(
            f"{lab:24} {counts[lab]:6d} {np.mean(per[lab]):13.3f} "
            f"{'' if t is None else f'{t:14.2f}':>14}  {TEXT_QUERIES.get(lab, '')}"
        )
    print(
        f"\nimage-to-image precision@5 (labels with > {K} images): {out['kenney.precision@5']:.3f}"
    )
    t2i_p5 = out["conse_text_to_image.precision@5"]
    print(f"text-to-image (ConSE, {args.profile}) precision@5: {t2i_p5:.3f}")
    print(f"chance precision@5: {out['anchor.chance.precision@5']:.3f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    rounded = {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}
    RESULTS.write_text(json.dumps(rounded, indent=2, sort_keys=True) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
