"""Tagging quality on the Kenney sprites: zero-shot and k confirmed examples per label.

Protocol (issue 4): labels are the top-level folders (each folder under
``images/``, plus ``input_prompt`` and ``onscreen_controls``); at a given k a
folder with fewer than k + 3 images is left out. For k = 0 (zero-shot), 1, 5
and 10 and 5 seeds, k images per label are confirmed through the feedback
path (``TaggingService.feedback`` on catalog assets of an owner who allows
model training), the heads are trained through the model store
(``TaggingService.train``), and every held-out image is tagged *from pixels
only* (no title, no file name): zero-shot ConSE tags and the champion heads'
tags, merged by the ADR aggregation. Figures:

- top-3 precision (ADR sense): share of held-out assets whose true label is
  among their 3 most confident object_type tags;
- top-1 accuracy;
- false-positive rate among returned tags with confidence >= 0.8.

Anchors measured in the same run: a plain baseline, centre-crop
EfficientNet-Lite0 features + multinomial logistic regression; and
``kK.unseen_top3_precision``: the heads fitted directly (same ``TagHeads``)
with half of the held-out images removed from the catalog, scored on that
unseen half only. The heads use the unlabelled catalog (block statistics,
label spreading); this shows the gain holds for assets they never saw.

Second protocol (issue 20), run at the end: held-out categories
(``benchmarks/generalisation_tagging.py``): the k = 5 heads' settings are
chosen on a fixed tuning half of the categories and scored on the other half,
with and without label propagation, beside a linear probe on the same frozen
features and support images; its figures are stored here under ``heldout.``
(and in ``generalisation.json`` by that script).

The benchmark taxonomy gives each folder a one-line description (what an
operator of that catalog would write); zero-shot compares ConSE image vectors
with those. Image features are cached under ``/tmp/agora-tagging-features``
(keyed by the extractor and encoder keys).

Run: ``python benchmarks/tagging_quality.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml
from PIL import Image

if TYPE_CHECKING:
    from agora.runtime import Platform

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "arcade-kenney-sprites"
# Shared with generalisation_tagging.py; the file name carries the extractor and encoder keys.
CACHE = Path("/tmp/agora-tagging-features")
RESULTS = ROOT / "benchmarks" / "results" / "tagging_quality.json"
HIGH = 0.8

DESCRIPTIONS = {
    "alien": "a cute cartoon alien character with antennae, green, blue, pink or yellow",
    "animated_characters": "an animated game character, a person, robot, zombie or adventurer",
    "backgrounds": "a wide background landscape with sky, hills, desert or grass",
    "cards": "a playing card, hearts, spades, clubs or diamonds, king, queen, jack or ace",
    "cybercity_background": "a cyberpunk night city skyline background with neon buildings",
    "enemies": "an enemy creature sprite: slime, bee, fish, snail, fly, mouse or worm",
    "items": "a collectible item: coin, gem, key, star, heart or flag",
    "miami_synth_parallax": "a synthwave neon sunset parallax background with palm trees",
    "pinball": "a pinball machine part, flipper or ball",
    "space_shooter": "a space shooter spaceship, laser shot or meteor",
    "spritesheets": "a sprite sheet, a grid of many small animation frames",
    "test_textures": "a test texture or normal map, a repeating pattern",
    "tiles": "a square platformer terrain tile: grass, dirt, stone, sand, snow or water",
    "topdown_tanks": "a top-down military tank, turret, barrel, tracks or sandbags",
    "input_prompt": "a controller button prompt icon: gamepad buttons, triggers, d-pad, keys",
    "onscreen_controls": "on-screen touch controls: a virtual joystick and round buttons",
}


def dataset() -> tuple[list[Path], list[str]]:
    files = sorted(
        p for p in DATA.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".gif") and p.is_file()
    )
    labels = []
    for p in files:
        rel = p.relative_to(DATA).parts
        labels.append(rel[1] if rel[0] == "images" else rel[0])
    return files, labels


def features(files: list[Path]) -> dict[str, np.ndarray]:
    """Tagging features (padded pass) and centre-crop features (baseline), cached."""
    from agora.encoders.image import EfficientNetLite0Encoder
    from agora.tagging.features import TaggingFeatureExtractor

    extractor = TaggingFeatureExtractor()
    key = f"{extractor.info.key}+{EfficientNetLite0Encoder.info.key}".replace("@", "_")
    path = CACHE / f"tagging_kenney_{key}_{len(files)}.npz"
    if path.exists():
        with np.load(path) as cached:
            return dict(cached)
    crop_encoder = EfficientNetLite0Encoder()
    out: dict[str, list[np.ndarray]] = {"features": [], "probs": [], "extra": [], "crop": []}
    for start in range(0, len(files), 32):
        images = [Image.open(p) for p in files[start : start + 32]]
        f, pr, ex = extractor.extract(images)
        out["features"].append(f)
        out["probs"].append(pr)
        out["extra"].append(ex)
        out["crop"].append(crop_encoder.encode_images(images).features)
        print(f"  features {start + len(images)}/{len(files)}", file=sys.stderr)
    arrays = {k: np.concatenate(v) for k, v in out.items()}
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return arrays


def split(labels: list[str], k: int, seed: int) -> tuple[list[int], list[int]]:
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in sorted(set(labels)):
        idx = [i for i, lb in enumerate(labels) if lb == label]
        if len(idx) < k + 3:
            continue
        order = rng.permutation(idx)
        train += [int(i) for i in order[:k]]
        test += [int(i) for i in order[k:]]
    return train, test


def baseline(crop: np.ndarray, labels: list[str], k: int, seeds: list[int]) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    from agora.encoders.text import l2_normalise

    x, y = l2_normalise(crop), np.array(labels)
    top1, top3 = [], []
    for seed in seeds:
        train, test = split(labels, k, seed)
        model = LogisticRegression(C=10, max_iter=3000).fit(x[train], y[train])
        order = model.classes_[np.argsort(-model.predict_proba(x[test]), axis=1)]
        top1.append(float(np.mean(order[:, 0] == y[test])))
        top3.append(float(np.mean((order[:, :3] == y[test][:, None]).any(axis=1))))
    return float(np.mean(top1)), float(np.mean(top3))


def unseen_top3(rows: np.ndarray, labels: list[str], k: int, seeds: list[int]) -> float:
    """Top-3 precision of heads on held-out images that were not in their catalog."""
    from agora.tagging.heads import TagHeads

    hits = []
    for seed in seeds:
        train, test = split(labels, k, seed)
        order = np.random.default_rng(seed).permutation(test)
        unseen = order[len(order) // 2 :]
        catalog = np.delete(rows, unseen, axis=0)
        heads = TagHeads().fit(rows[train], [{("object_type", labels[i])} for i in train], catalog)
        probs = heads.predict_proba(rows[unseen])
        names = sorted(probs, key=lambda key: key[1])
        scores = np.stack([probs[key] for key in names], axis=1)
        top = np.argsort(-scores, axis=1)[:, :3]
        hits += [labels[i] in {names[j][1] for j in t} for i, t in zip(unseen, top, strict=True)]
    return float(np.mean(hits))


def _seed_assets(platform: Platform, encoder_key: str, ids: list[str], rows: np.ndarray) -> None:
    """One seller's assets with their stored head embeddings (no images to encode again)."""
    from agora.storage.tables import AssetRow, SellerRow
    from agora.tagging.tables import TagEmbeddingRow

    with platform.db.session() as s:
        s.add(SellerRow(id="kenney", name="Kenney", attributes={}))
        s.flush()
        for i, asset_id in enumerate(ids):
            s.add(
                AssetRow(id=asset_id, seller_id="kenney", title="", description="", creator_tags=[])
            )
            s.add(TagEmbeddingRow(asset_id=asset_id, encoder=encoder_key, vector=rows[i].tobytes()))


def heldout_protocol(quick: bool) -> dict[str, float]:
    """The held-out-categories figures of ``generalisation_tagging``, printed and
    returned as ``heldout.k5.*`` (hit rates only)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import generalisation_tagging

    k5 = generalisation_tagging.run(quick)["k5"]
    figures = {
        f"heldout.k5.{key}": float(value)
        for key, value in k5.items()
        if key.endswith(("top1", "top3")) or "top3_" in key or "top1_" in key
    }
    print("held-out categories (k=5, test half; in_source = tuning half):")
    for key, value in figures.items():
        print(f"  {key}: {value:.3f}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="2 seeds, k in 0, 1, 5")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if not DATA.exists():
        sys.exit(f"dataset not found: {DATA}")
    from agora.config import Settings
    from agora.runtime import Platform
    from agora.tagging.aggregate import aggregate
    from agora.tagging.base import Tag
    from agora.tagging.features import head_rows
    from agora.tagging.heads_tagger import heads_tags
    from agora.tagging.tables import TagFeedbackRow
    from agora.tagging.training import HEADS_MODEL

    seeds = [0, 1] if args.quick else [0, 1, 2, 3, 4]
    ks = [0, 1, 5] if args.quick else [0, 1, 5, 10]
    files, labels = dataset()
    print(f"{len(files)} images, {len(set(labels))} labels", file=sys.stderr)
    t0 = time.perf_counter()
    feats = features(files)
    rows = head_rows(feats["features"], feats["extra"])

    tmp = Path(tempfile.mkdtemp(prefix="agora-tagbench-"))
    taxonomy = {
        "version": "kenney-bench-1",
        "categories": {
            "object_type": {
                "labels": {name: {"descriptions": {"en": d}} for name, d in DESCRIPTIONS.items()}
            }
        },
    }
    (tmp / "taxonomy.yaml").write_text(yaml.safe_dump(taxonomy))
    settings = Settings.load(
        data_dir=tmp / "agora",
        # Training is explicit here (once per k and seed), not started by the feedback.
        tagging={"taxonomy_path": str(tmp / "taxonomy.yaml"), "auto_retrain": False},
    )
    platform = Platform.build(settings)
    service = platform.tagging
    platform.consent.put("kenney", {"allows_model_training": True}, actor="bench")
    ids = [f"k{i:04d}" for i in range(len(files))]
    _seed_assets(platform, service.head_encoder_key, ids, rows)
    zero_shot = service.image_tagger.scores(service.conse.from_probs(feats["probs"]))["object_type"]
    zs_names = [lb.name for lb in service.taxonomy.labels("object_type")]

    results: dict[str, float] = {}
    table = []
    for k in ks:
        top1s, top3s, high, high_fp = [], [], 0, 0
        for seed in seeds:
            train, test = split(labels, k, seed)
            heads = None
            if k > 0:
                with platform.db.session() as s:
                    s.query(TagFeedbackRow).delete()
                for i in train:
                    confirm = {"name": labels[i], "category": "object_type", "verdict": "confirm"}
                    service.feedback(ids[i], [confirm],
                                     role="creator", actor="bench")  # fmt: skip
                ref = service.train(actor="bench")
                assert ref is not None
                heads = platform.models.load(HEADS_MODEL, alias="champion")
            for i in test:
                zs = [Tag(zs_names[j], float(zero_shot[i, j]), "object_type", "zeroshot-image@1.0")
                      for j in np.argsort(-zero_shot[i])[:3]]  # fmt: skip
                learnt = heads_tags(heads, rows[i], "tag-heads@x") if heads is not None else []
                covered = {c for c, _ in heads.tags} if heads is not None else set()
                zs = [t for t in zs if t.category not in covered]  # as TaggingService.local_tags
                tags = [
                    t
                    for t in aggregate(zs + learnt, [], service.taxonomy)
                    if t.category == "object_type"
                ][:3]
                names = [t.name for t in tags]
                top1s.append(bool(names) and names[0] == labels[i])
                top3s.append(labels[i] in names)
                for t in tags:
                    if t.confidence >= HIGH:
                        high += 1
                        high_fp += t.name != labels[i]
        prefix = "zero_shot" if k == 0 else f"k{k}"
        results[f"{prefix}.top3_precision"] = round(float(np.mean(top3s)), 4)
        results[f"{prefix}.top1_accuracy"] = round(float(np.mean(top1s)), 4)
        results[f"{prefix}.high_conf_fp_rate"] = round(high_fp / high, 4) if high else 0.0
        results[f"{prefix}.high_conf_tags"] = high
        b1, b3 = (
            baseline(feats["crop"], labels, k, seeds) if k > 0 else (float("nan"), float("nan"))
        )
        if k > 0:
            results[f"{prefix}.unseen_top3_precision"] = round(
                unseen_top3(rows, labels, k, seeds), 4
            )
            results[f"baseline_lr.{prefix}.top1_accuracy"] = round(b1, 4)
            results[f"baseline_lr.{prefix}.top3_precision"] = round(b3, 4)
        top3, top1 = results[f"{prefix}.top3_precision"], results[f"{prefix}.top1_accuracy"]
        table.append((prefix, top3, top1,
                      results[f"{prefix}.high_conf_fp_rate"], high, b3, b1))  # fmt: skip
    results["seeds"] = len(seeds)
    results["images"] = len(files)
    results["seconds"] = round(time.perf_counter() - t0, 1)
    platform.close()

    print(
        f"{'setting':10s} {'top3':>7s} {'top1':>7s} {'fp@0.8':>7s} {'n@0.8':>6s}"
        f" {'LR top3':>8s} {'LR top1':>8s}"
    )
    for row in table:
        print(
            f"{row[0]:10s} {row[1]:7.3f} {row[2]:7.3f} {row[3]:7.3f} {row[4]:6d}"
            f" {row[5]:8.3f} {row[6]:8.3f}"
        )
    for key in sorted(k for k in results if "unseen" in k):
        print(f"{key}: {results[key]:.3f}")
    results |= heldout_protocol(args.quick)
    out = RESULTS if not args.quick else RESULTS.with_suffix(".quick.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, sort_keys=True))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
