"""Near-duplicate detection: the cascade against plain perceptual hashes.

Data (``../shared/data``):

* **Kenney sprites** (``arcade-kenney-sprites``): files that are near-identical
  by design (the flat/shaded/light/dark styles of one control icon, animation
  frames of one character, colour and terrain variants of one tile, mirrored
  left/right pieces, a deck of cards) are grouped by a naming rule; the
  grouping is committed (``benchmarks/data/duplicates_groups.json``,
  regenerate with ``--regroup``). One file per group is a *base*. Each base
  gets 10 generated copies: horizontal and vertical flip, 90/180/270 degree
  turns, an 80% crop, a 10-25 degree turn, a recolour (hue turned by 120
  degrees), JPEG at quality 30 and a half-size resize.
* **UKBench** (``imagededup-ukbench``, photos, another source): its 10 base
  images with the same 10 copies, plus imagededup's own hflip/resize/rotation
  copies; reported apart, with the thresholds chosen on Kenney.

Every copy is checked against the index of all bases of its split: a match to
its own base is a true pair, a match to any other base a false one; every
base is also checked against the other bases (all pairs of distinct bases are
negatives). Thresholds (the cascade's and each anchor's) are chosen on the
*training* half of the Kenney groups (split by a hash of the group name):
the setting with the best mean recall at precision >= 0.99; all figures are
then reported on the *test* half, run once.

Anchors in the same run: plain pHash, aHash, dHash, wHash and colour hash
(imagehash 4.3), each a Hamming threshold between copy and base (the
imagededup way), and the dihedral pHash alone (no embedding, no geometry).

Latency: ``check.p95_ms_100k`` is the cascade's per-picture check (candidates
from the multi-index hash and the HNSW embedding index, ranking by embedding)
with 100,000 indexed pictures: the real bases plus generated distractors
(mosaics of four base thumbnails, turned and flipped at random, with the mean
of their embeddings plus noise). Geometric verification is timed apart
(``verify.p95_ms``). The embeddings are EfficientNet-Lite0's, which the index
step computes for every upload anyway; their cost is not in the check.

Writes ``benchmarks/results/duplicates.json``. ``--quick`` uses 40 Kenney
groups and 10,000 indexed pictures.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image

from agora.encoders import Encoders
from agora.quality.duplicates.cascade import Cascade, CascadeThresholds, ImageQuery
from agora.quality.duplicates.geometry import Keypoints, Verification, fit, keypoints
from agora.quality.duplicates.hashing import contrast_background, dihedral_hashes, hamming, phash
from agora.quality.duplicates.mih import MultiIndexHash

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data"
KENNEY = SHARED / "arcade-kenney-sprites"
UKBENCH = SHARED / "imagededup-ukbench"
GROUPS = HERE / "data" / "duplicates_groups.json"
CACHE = HERE / ".cache" / "duplicates"
RESULTS = HERE / "results"
SUFFIXES = {".png", ".jpg", ".jpeg", ".gif"}
TRANSFORMS = ("flip_h", "flip_v", "rotate90", "rotate180", "rotate270", "crop",
              "rotate_small", "recolour", "jpeg30", "resize")  # fmt: skip
CLASS_OF = {"flip_h": "flip", "flip_v": "flip", "rotate90": "rotate90", "rotate180": "rotate90",
            "rotate270": "rotate90", "crop": "crop", "rotate_small": "rotate_small",
            "recolour": "recolour", "jpeg30": "jpeg30", "resize": "resize",
            # imagededup's rotated UKBench copy keeps the 640x480 frame: its own class.
            "imagededup_rotation": "imagededup_rotation"}  # fmt: skip
CLASSES = ("flip", "rotate90", "crop", "rotate_small", "recolour", "jpeg30", "resize")
ANCHORS = ("phash", "ahash", "dhash", "whash", "colorhash")
ENCODERS = Encoders()

# -- grouping ------------------------------------------------------------------

# Words that name a variant rather than a different picture: colours, terrain
# materials, directions and sides, states, styles, sizes and card faces.
VARIANT_WORDS = frozenset(
    re.findall(
        r"\w+",
        """
    blue green red yellow grey gray brown white black orange purple pink beige dark light
    bronze gold silver sand dirt grass planet snow stone lava water bigred darklarge huge
    large small big med tiny left right up down top bottom mid center centre middle high low
    ll lr ul ur e n s w east north south west l r flat shaded outline icon color colour move
    dead pressed off on idle running round rounded alt all none horizontal vertical press back
    test double single half clubs diamonds hearts spades joker a b j k q x y
    """,
    )
)


# Left/right pairs drawn as mirror images of each other (controller bumpers,
# triggers and stick buttons) are one design.
SYNONYMS = {"lb": "bumper", "rb": "bumper", "lt": "trigger", "rt": "trigger",
            "ls": "stickpress", "rs": "stickpress"}  # fmt: skip


ROUND_BUTTONS = {"button", "guide", "stickpress"}


def family(rel: str) -> str:
    """The design group of a sprite (see ``VARIANT_WORDS``), by its path.

    >>> family("onscreen_controls/flat_dark/gear.png") == family(
    ...     "onscreen_controls/shaded_light/gear.png")
    True
    >>> family("images/tiles/dirtCliff_left.png") == family("images/tiles/snowCliff_right.png")
    True
    """
    parts = rel.split("/")
    stem = parts[-1].rsplit(".", 1)[0]
    if parts[0] == "onscreen_controls":
        folder = "onscreen_controls"
        stem = re.sub(r"^(flat|shaded)(dark|light)", "", stem, flags=re.I) or "style"
    elif parts[:2] == ["images", "animated_characters"]:
        # The six characters are drawn on one template: the same pose of two
        # characters differs in skin and clothes only.
        return "/".join(parts[:2])
    elif parts[:2] == ["images", "alien"] or parts[:2] == ["images", "cards"]:
        return "/".join(parts[:2])  # one character's frames; one deck
    elif parts[-2] == "normal_mapping":
        return "/".join(parts[:-1])  # a texture and its normal map
    else:
        folder = "/".join(parts[:-1])
    words = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", stem.replace("_", " "))
    kept = [SYNONYMS.get(w.lower(), w.lower()) for w in words
            if w.lower() not in VARIANT_WORDS and not w.isdigit()]  # fmt: skip
    name = "-".join(kept) or "plain"
    if parts[0] == "input_prompt" and name.split("-")[0] in ROUND_BUTTONS:
        name = "round-button"  # one round button drawn with different glyphs
    return f"{folder}/{name}"


def regroup() -> None:
    files = sorted(str(p.relative_to(KENNEY)) for p in KENNEY.rglob("*")
                   if p.suffix.lower() in SUFFIXES)  # fmt: skip
    groups: dict[str, list[str]] = defaultdict(list)
    for f in files:
        groups[family(f)].append(f)
    GROUPS.parent.mkdir(parents=True, exist_ok=True)
    GROUPS.write_text(json.dumps({
        "source": "arcade-kenney-sprites (../shared/data), grouped by benchmarks/duplicates.py"
                  " family(): files near-identical by design share a group",
        "groups": dict(sorted(groups.items())),
    }, indent=1) + "\n")  # fmt: skip
    print(f"{len(files)} files in {len(groups)} groups -> {GROUPS}")


# -- copies --------------------------------------------------------------------


def load(path: Path) -> Image.Image:
    img = Image.open(path)
    img.seek(0)
    img = img.convert("RGBA")
    if max(img.size) > 1024:  # large backgrounds: the copies keep the thief's scale
        img.thumbnail((1024, 1024))
    return img


def flatten(img: Image.Image) -> Image.Image:
    """RGB on a background that contrasts with the art (as the hashes flatten): a
    white icon saved as JPEG by a thief stays visible."""
    rgba = img.convert("RGBA")
    level = contrast_background(rgba)
    canvas = Image.new("RGBA", rgba.size, (level, level, level, 255))
    canvas.alpha_composite(rgba)
    return canvas.convert("RGB")


def transform(img: Image.Image, name: str, rng: np.random.Generator) -> Image.Image:
    t = Image.Transpose
    if name in ("flip_h", "flip_v", "rotate90", "rotate180", "rotate270"):
        op = {"flip_h": t.FLIP_LEFT_RIGHT, "flip_v": t.FLIP_TOP_BOTTOM, "rotate90": t.ROTATE_90,
              "rotate180": t.ROTATE_180, "rotate270": t.ROTATE_270}[name]  # fmt: skip
        return img.transpose(op)
    if name == "crop":  # 80% of each side at a random offset
        w, h = img.size
        cw, ch = max(1, round(0.8 * w)), max(1, round(0.8 * h))
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        return img.crop((x, y, x + cw, y + ch))
    if name == "rotate_small":
        angle = float(rng.uniform(10, 25)) * (1 if rng.random() < 0.5 else -1)
        return img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    if name == "recolour":
        rgb, alpha = img.convert("RGB"), img.getchannel("A")
        h, s, v = rgb.convert("HSV").split()
        h = h.point(lambda x: (x + 85) % 256)
        out = Image.merge("HSV", (h, s, v)).convert("RGB").convert("RGBA")
        out.putalpha(alpha)
        return out
    if name == "jpeg30":
        buf = io.BytesIO()
        flatten(img).save(buf, "JPEG", quality=30)
        return Image.open(io.BytesIO(buf.getvalue())).convert("RGBA")
    if name == "resize":
        return img.resize(
            (max(1, img.width // 2), max(1, img.height // 2)), Image.Resampling.LANCZOS
        )
    raise ValueError(name)


# -- features ------------------------------------------------------------------


@dataclass
class Item:
    key: str  # "base:<group>#0" (a picture row, as in the product) or "copy:<group>:<transform>"
    group: str
    transform: str | None
    picture: Image.Image
    hashes: np.ndarray | None = None
    anchors: dict[str, np.ndarray] | None = None
    vector: np.ndarray | None = None


def anchor_bits(img: Image.Image) -> dict[str, np.ndarray]:
    gray = flatten(img)
    return {
        "phash": imagehash.phash(gray).hash.flatten(),
        "ahash": imagehash.average_hash(gray).hash.flatten(),
        "dhash": imagehash.dhash(gray).hash.flatten(),
        "whash": imagehash.whash(gray).hash.flatten(),
        "colorhash": imagehash.colorhash(gray, binbits=3).hash.flatten(),
    }


def embed(items: list[Item], tag: str) -> None:
    enc = ENCODERS.image()
    CACHE.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha1("|".join(i.key for i in items).encode()).hexdigest()[:12]
    cache = CACHE / f"{tag}-{enc.info.key.replace('@', '_')}-{digest}.npy"
    if cache.exists():
        feats = np.load(cache)
    else:
        rows = []
        for start in range(0, len(items), 32):
            # As the product: the encoder puts transparency on white itself.
            batch = [i.picture for i in items[start : start + 32]]
            rows.append(enc.encode_images(batch).features)
            print(f"  {tag}: embedded {start + len(batch)}/{len(items)}", flush=True)
        feats = np.vstack(rows).astype(np.float32)
        np.save(cache, feats)
    for item, f in zip(items, feats, strict=True):
        item.vector = f


def featurise(items: list[Item], tag: str) -> None:
    for item in items:
        item.hashes = dihedral_hashes(item.picture)
        item.anchors = anchor_bits(item.picture)
    embed(items, tag)


def make_items(bases: dict[str, Image.Image], seed: int) -> list[Item]:
    items: list[Item] = []
    for group, img in bases.items():
        items.append(Item(f"base:{group}#0", group, None, img))
        rng = np.random.default_rng(
            int(hashlib.md5(f"{seed}:{group}".encode()).hexdigest()[:8], 16)
        )
        for name in TRANSFORMS:
            items.append(Item(f"copy:{group}:{name}", group, name, transform(img, name, rng)))
    return items


# -- the catalog the cascade reads ---------------------------------------------


class BenchCatalog:
    """Bases (and distractors) in the product's structures: the multi-index hash
    and a usearch HNSW graph with the image index's parameters."""

    def __init__(self, keys: list[str], codes: np.ndarray, vectors: np.ndarray,
                 pictures: dict[str, Image.Image]) -> None:  # fmt: skip
        from usearch.index import Index

        self.hashes = MultiIndexHash()
        self.hashes.add(keys, codes)
        self.keys = keys
        self.matrix = vectors.astype(np.float32)
        self.row = {k: i for i, k in enumerate(keys)}
        self.graph = Index(ndim=vectors.shape[1], metric="cos", dtype="f32", connectivity=16,
                           expansion_add=128, expansion_search=128)  # fmt: skip
        self.graph.add(np.arange(len(keys)), self.matrix, threads=os.cpu_count() or 1)
        self.pictures = pictures
        self._kp: dict[str, Keypoints] = {}

    def neighbours(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        found = self.graph.search(vector.astype(np.float32), k)
        return [(self.keys[int(key)], 1.0 - float(d))
                for key, d in zip(found.keys, found.distances, strict=True)]  # fmt: skip

    def vectors(self, keys: list[str]) -> dict[str, np.ndarray]:
        return {k: self.matrix[self.row[k]] for k in keys if k in self.row}

    def picture(self, key: str) -> Image.Image | None:
        return self.pictures.get(key)

    def keypoints(self, key: str) -> Keypoints | None:
        if key not in self._kp and key in self.pictures:
            self._kp[key] = keypoints(self.pictures[key])
        return self._kp.get(key)


def catalog_of(bases: list[Item]) -> BenchCatalog:
    codes = np.array([int(b.hashes[0]) for b in bases], dtype=np.uint64)  # type: ignore[index]
    vectors = np.array([b.vector for b in bases], dtype=np.float32)
    return BenchCatalog([b.key for b in bases], codes, vectors, {b.key: b.picture for b in bases})


@dataclass
class Recorded:
    """One query's candidates and the fits of its best ranked, for threshold search."""

    item: Item
    cands: list[tuple[str, int, str, float | None]]
    fits: dict[str, Verification]
    check_ms: float
    verify_ms: float


def record(catalog: BenchCatalog, items: list[Item], loose: CascadeThresholds) -> list[Recorded]:
    cascade = Cascade(catalog, loose)
    out = []
    for item in items:
        own = f"base:{item.group}#"  # the picture itself, never a prefix of another group
        q = ImageQuery(item.key, item.hashes, item.vector, item.picture,
                       exclude_prefix=own if item.transform is None else None)  # fmt: skip
        t0 = time.perf_counter()
        cands = cascade.candidates(q)
        t1 = time.perf_counter()
        fits: dict[str, Verification] = {}
        mine = None
        for key, _, _, sim in cands[: loose.max_verify + 3]:
            if sim is None or sim < loose.min_similarity_verify:
                continue
            other = catalog.keypoints(key)
            if other is None:
                continue
            mine = mine or keypoints(item.picture)
            fits[key] = fit(mine, other, min_inliers=4, min_correlation=-1)
        t2 = time.perf_counter()
        out.append(Recorded(item, cands, fits, (t1 - t0) * 1000, (t2 - t1) * 1000))
    return out


def evaluate(recorded: list[Recorded], t: CascadeThresholds) -> dict[str, float]:
    cascade = Cascade(None, t)  # type: ignore[arg-type]  # decide() reads no catalog
    hits: dict[str, list[bool]] = defaultdict(list)
    tp = fp = 0
    for r in recorded:
        matches = cascade.decide(r.cands, r.fits.get)
        found = {m.key for m in matches}
        own = f"base:{r.item.group}#0"
        if r.item.transform is not None:
            hits[CLASS_OF[r.item.transform]].append(own in found)
            tp += own in found
            fp += len(found - {own})
        else:
            fp += len(found - {own})
    out = {f"recall.{c}": float(np.mean(v)) for c, v in sorted(hits.items())}
    out["precision"] = tp / (tp + fp) if tp + fp else 1.0
    out["false_pairs"] = fp
    return out


def grid(base: CascadeThresholds) -> list[CascadeThresholds]:
    out = []
    for hm in (6, 8, 10):
        for sh in (0.3, 0.5):
            for sv in (0.45, 0.55, 0.65):
                for mi in (8, 12, 20):
                    for mc in (0.3, 0.5, 0.7):
                        out.append(replace(base, hash_match=hm, hash_radius=hm,
                                           min_similarity_hash=sh,
                                           min_similarity_verify=sv, min_inliers=mi,
                                           min_correlation=mc))  # fmt: skip
    return out


def objective(m: dict[str, float]) -> tuple[bool, float, float]:
    """Mean recall over the copy classes among settings with precision >= 0.99; where
    none reaches it, the most precise (then the best recall)."""
    recall = float(np.mean([m[f"recall.{c}"] for c in CLASSES if f"recall.{c}" in m]))
    ok = m["precision"] >= 0.99
    return (ok, recall if ok else m["precision"], recall)


# -- anchors: one plain hash and a threshold -------------------------------------


def anchor_distances(items: list[Item], name: str) -> tuple[np.ndarray, list[Item], list[Item]]:
    bases = [i for i in items if i.transform is None]
    bits_b = np.array([b.anchors[name] for b in bases], dtype=bool)  # type: ignore[index]
    bits_q = np.array([i.anchors[name] for i in items], dtype=bool)  # type: ignore[index]
    dist = (bits_q[:, None, :] != bits_b[None, :, :]).sum(axis=2)
    return dist, items, bases


def anchor_eval(items: list[Item], name: str, threshold: int) -> dict[str, float]:
    dist, queries, bases = anchor_distances(items, name)
    hits: dict[str, list[bool]] = defaultdict(list)
    tp = fp = 0
    for qi, q in enumerate(queries):
        for bi, b in enumerate(bases):
            if q.transform is None and b.group == q.group:
                continue
            match = dist[qi, bi] <= threshold
            if b.group == q.group:
                hits[CLASS_OF[q.transform or ""]].append(bool(match))
                tp += match
            else:
                fp += match
    out = {f"recall.{c}": float(np.mean(v)) for c, v in sorted(hits.items())}
    out["precision"] = tp / (tp + fp) if tp + fp else 1.0
    out["false_pairs"] = int(fp)
    return out


def dihedral_eval(items: list[Item], threshold: int) -> dict[str, float]:
    bases = [i for i in items if i.transform is None]
    codes = np.array([int(b.hashes[0]) for b in bases], dtype=np.uint64)  # type: ignore[index]
    hits: dict[str, list[bool]] = defaultdict(list)
    tp = fp = 0
    for q in items:
        d = hamming(codes[:, None], q.hashes[None, :]).min(axis=1)  # type: ignore[index]
        for b, dist in zip(bases, d.tolist(), strict=True):
            if q.transform is None and b.group == q.group:
                continue
            match = dist <= threshold
            if b.group == q.group:
                hits[CLASS_OF[q.transform or ""]].append(match)
                tp += match
            else:
                fp += match
    out = {f"recall.{c}": float(np.mean(v)) for c, v in sorted(hits.items())}
    out["precision"] = tp / (tp + fp) if tp + fp else 1.0
    out["false_pairs"] = int(fp)
    return out


def choose(evaluate_at: object, candidates: list[int]) -> int:
    return max(candidates, key=lambda c: objective(evaluate_at(c)))  # type: ignore[operator]


# -- latency at scale ------------------------------------------------------------


def distractors(bases: list[Item], n: int, seed: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``n`` generated pictures: mosaics of four base thumbnails (turned/flipped at
    random) hashed like uploads, with the mean of their embeddings plus noise."""
    rng = np.random.default_rng(seed)
    thumbs = [flatten(b.picture).resize((32, 32)) for b in bases]
    vecs = np.array([b.vector for b in bases], dtype=np.float32)
    ops = list(Image.Transpose)
    codes = np.zeros(n, dtype=np.uint64)
    out = np.zeros((n, vecs.shape[1]), dtype=np.float32)
    for i in range(n):
        pick = rng.integers(0, len(bases), 4)
        canvas = Image.new("RGB", (64, 64))
        for j, b in enumerate(pick.tolist()):
            tile = thumbs[b].transpose(ops[int(rng.integers(0, len(ops)))])
            canvas.paste(tile, ((j % 2) * 32, (j // 2) * 32))
        codes[i] = phash(canvas.convert("L"))  # what dihedral_hashes(canvas)[0] gives
        v = vecs[pick].mean(axis=0) + rng.normal(0, 0.02, vecs.shape[1]).astype(np.float32)
        out[i] = v / np.linalg.norm(v)
        if (i + 1) % 20000 == 0:
            print(f"  distractors: {i + 1}/{n}", flush=True)
    return [f"distractor:{i}" for i in range(n)], codes, out


def latency(items: list[Item], t: CascadeThresholds, total: int, seed: int) -> dict[str, float]:
    bases = [i for i in items if i.transform is None]
    n = total - len(bases)
    keys, codes, vecs = distractors(bases, n, seed)
    t0 = time.perf_counter()
    catalog = BenchCatalog(
        [b.key for b in bases] + keys,
        np.concatenate([np.array([b.hashes[0] for b in bases], dtype=np.uint64), codes]),  # type: ignore[index]
        np.vstack([np.array([b.vector for b in bases]), vecs]),
        {b.key: b.picture for b in bases},
    )
    build_s = time.perf_counter() - t0
    recorded = record(catalog, [i for i in items if i.transform is not None], t)
    check = np.array([r.check_ms for r in recorded])
    verify_ms = np.array([r.verify_ms for r in recorded if r.fits])
    cands = np.array([len(r.cands) for r in recorded])
    return {
        "indexed": float(total),
        "build_s": round(build_s, 1),
        "check.p50_ms": round(float(np.percentile(check, 50)), 3),
        "check.p95_ms": round(float(np.percentile(check, 95)), 3),
        "candidates.mean": round(float(cands.mean()), 2),
        "verify.p95_ms": round(float(np.percentile(verify_ms, 95)), 3) if len(verify_ms) else 0.0,
        "queries": float(len(recorded)),
    }


# -- main ---------------------------------------------------------------------------


def split_of(group: str) -> str:
    return "train" if int(hashlib.md5(group.encode()).hexdigest(), 16) % 2 == 0 else "test"


def ukbench_items() -> list[Item]:
    bases = {p.stem: load(p) for p in sorted((UKBENCH / "base_images").glob("*.jpg"))}
    items = make_items(bases, seed=23)
    # imagededup's own copies (the corrupt file is skipped: it does not decode).
    for p in sorted((UKBENCH / "mixed_images").glob("*_*.jpg")):
        stem, _, kind = p.stem.partition("_")
        name = {"hflip": "flip_h", "resize": "resize", "rotation": "imagededup_rotation"}.get(kind)
        if name is None or stem not in bases:
            continue
        try:
            items.append(Item(f"copy:{stem}:imagededup-{kind}", stem, name, load(p)))
        except OSError:
            continue
    return items


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="40 groups, 10,000 indexed pictures")
    ap.add_argument("--regroup", action="store_true", help="rewrite the committed grouping")
    ap.add_argument("--indexed", type=int, default=100_000)
    ap.add_argument("--reuse-latency", type=Path, default=None,
                    help="copy the latency figures of an earlier results file")  # fmt: skip
    args = ap.parse_args()
    if not KENNEY.exists():
        sys.exit(f"{KENNEY} is missing (see ../shared/data/SOURCES.md)")
    if args.regroup:
        regroup()
        return
    groups: dict[str, list[str]] = json.loads(GROUPS.read_text())["groups"]
    names = sorted(groups)
    if args.quick:
        names = names[:: max(1, len(names) // 40)][:40]
    bases = {g: load(KENNEY / groups[g][0]) for g in names}
    items = make_items(bases, seed=7)
    print(f"{len(names)} groups, {len(items)} pictures; hashing and embedding", flush=True)
    featurise(items, "kenney-quick" if args.quick else "kenney")
    parts = {s: [i for i in items if split_of(i.group) == s] for s in ("train", "test")}

    loose = CascadeThresholds(hash_radius=10, hash_match=10, min_similarity_hash=0.3,
                              neighbours=10, min_similarity_verify=0.45, max_verify=5,
                              min_inliers=8)  # fmt: skip
    recorded = {}
    for s, part in parts.items():
        pb = [i for i in part if i.transform is None]
        catalog = catalog_of(pb)
        recorded[s] = record(catalog, part, loose)
        print(f"  {s}: {len(part)} queries recorded", flush=True)
    best = max(grid(loose), key=lambda t: objective(evaluate(recorded["train"], t)))
    train_m, test_m = evaluate(recorded["train"], best), evaluate(recorded["test"], best)

    results: dict[str, object] = {
        "data": "arcade-kenney-sprites groups (benchmarks/data/duplicates_groups.json)",
        "split": "groups by md5(group) parity: thresholds chosen on train, figures on test",
        "groups.train": len({i.group for i in parts["train"]}),
        "groups.test": len({i.group for i in parts["test"]}),
        "thresholds": best.__dict__,
    }
    results |= {f"cascade.{k}": round(v, 4) for k, v in test_m.items()}
    results |= {f"cascade.train.{k}": round(v, 4) for k, v in train_m.items()}

    for name in ANCHORS:
        limit = 64 if name != "colorhash" else 42
        th = choose(lambda c, n=name: anchor_eval(parts["train"], n, c), list(range(0, limit // 2)))
        m = anchor_eval(parts["test"], name, th)
        results |= {f"{name}.{k}": round(v, 4) for k, v in m.items()} | {f"{name}.threshold": th}
    th = choose(lambda c: dihedral_eval(parts["train"], c), list(range(0, 24)))
    m = dihedral_eval(parts["test"], th)
    results |= {f"phash8.{k}": round(v, 4) for k, v in m.items()} | {"phash8.threshold": th}

    uk = ukbench_items()
    featurise(uk, "ukbench")
    ub = [i for i in uk if i.transform is None]
    uk_catalog = catalog_of(ub)
    uk_m = evaluate(record(uk_catalog, uk, loose), best)
    results |= {f"ukbench.cascade.{k}": round(v, 4) for k, v in uk_m.items()}
    results |= {f"ukbench.phash.{k}": round(v, 4)
                for k, v in anchor_eval(uk, "phash", int(results["phash.threshold"])).items()}  # type: ignore[call-overload]  # fmt: skip

    total = 10_000 if args.quick else args.indexed
    load_before = os.getloadavg()[0]
    if args.reuse_latency is not None:
        old = json.loads(args.reuse_latency.read_text())
        lat = {k.removeprefix("latency."): v for k, v in old.items() if k.startswith("latency.")}
        results["latency.source"] = (f"copied from an earlier run with thresholds "
                                     f"{old['thresholds']} (loadavg {old['loadavg']})")  # fmt: skip
    else:
        lat = latency(parts["test"] + parts["train"], best, total, seed=11)
    suffix = "100k" if total == 100_000 else f"{total // 1000}k"
    results[f"check.p95_ms_{suffix}"] = lat["check.p95_ms"]
    results |= {f"latency.{k}": v for k, v in lat.items()}
    results["loadavg"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    results["cpus"] = os.cpu_count()

    print(f"\n{'method':<12}" + "".join(f"{c:>13}" for c in CLASSES) + f"{'precision':>11}")
    for name in ("cascade", "phash8", *ANCHORS, "ukbench.cascade"):
        row = "".join(f"{results.get(f'{name}.recall.{c}', float('nan')):>13.3f}" for c in CLASSES)
        print(f"{name:<12}{row}{results[f'{name}.precision']:>11.4f}")  # type: ignore[str-format]
    print(f"check p95 at {total:,} indexed: {lat['check.p95_ms']:.2f} ms "
          f"(verify p95 {lat['verify.p95_ms']:.1f} ms), loadavg {results['loadavg']}")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("duplicates.quick.json" if args.quick else "duplicates.json")
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
