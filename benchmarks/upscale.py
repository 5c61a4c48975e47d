"""Texture upscaling figures (issue 25), ``agora.processing.upscale``.

Quality: images of at least 64x64 px from ``arcade-kenney-sprites`` and the
``kenney-city-builder-glb`` texture (centre-cropped to at most ``--crop`` px),
downscaled x4 with Lanczos (box-filtered, as a real low-res asset would be)
and restored x4 by each method in the same run: Lanczos (the anchor), the
fast net (realesr-animevideov3) and the quality net (realesrgan-x4plus).
PSNR and SSIM (scikit-image, data range 255, on RGB composited over mid-grey
where there is alpha) against the originals; ``*.psnr_gain_db`` and
``*.ssim_gain`` are each net's mean minus Lanczos's mean over the same images.
GAN-trained nets often lose to Lanczos on PSNR while looking sharper: quality
is reported, not gated.

Speed: output megapixels per second on a ``--side`` x ``--side`` input (256 by
default; a smaller ``--x4plus-side`` for the quality net on a loaded machine),
after one warm-up call, ``threads`` CPU threads, no GPU.

Memory: ``x4plus.peak_rss_mb_1024`` is the peak RSS (ru_maxrss) of a fresh
process that upscales a 1024x1024 input with x4plus, tiled (128 px tiles).
With ``--x4plus-mem-tiles K`` the net runs on the first K tiles only and the
other tiles are filled with the last computed tile's output: every buffer,
the assembly and the PNG encoding are the real ones, and the net's own
memory is the same for every full tile, so the peak is reached; only the
run time is not that of a full run (``x4plus.mem_tiles_run`` says how many
tiles the net ran on).

The side-by-side sheet goes to ``docs/assets/upscale-sheet.png``.

Run: ``python benchmarks/upscale.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from agora.processing.upscale import SCALE, Upscaler  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "upscale.json"
SHEET = ROOT / "docs" / "assets" / "upscale-sheet.png"
DATA = ROOT.parent / "shared" / "data"
SPRITES = DATA / "arcade-kenney-sprites" / "images"
TEXTURE = DATA / "kenney-city-builder-glb" / "models" / "Textures" / "colormap.png"
METHODS = ("lanczos", "fast", "quality")
KEYS = {"lanczos": "lanczos", "fast": "fast", "quality": "x4plus"}


def over_grey(image: Image.Image) -> np.ndarray:
    """RGB composited over mid-grey (128) where there is alpha, as float."""
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float64)
    alpha = rgba[..., 3:4] / 255.0
    return rgba[..., :3] * alpha + 128.0 * (1 - alpha)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a, b, channel_axis=2, data_range=255.0))


def images(limit: int, crop: int) -> list[tuple[str, Image.Image]]:
    """Sprites (sorted by path, every k-th to spread over sets) and the texture."""
    paths = sorted(p for p in SPRITES.rglob("*.png"))
    chosen: list[tuple[str, Image.Image]] = []
    candidates = []
    for path in paths:
        with Image.open(path) as im:
            if min(im.size) >= 64:
                candidates.append(path)
    step = max(1, len(candidates) // max(1, limit - 1))
    for path in [*candidates[::step][: limit - 1], TEXTURE]:
        image = Image.open(path).convert("RGBA")
        w, h = image.size
        side_w, side_h = min(w, crop), min(h, crop)
        side_w -= side_w % SCALE
        side_h -= side_h % SCALE
        left, top = (w - side_w) // 2, (h - side_h) // 2
        chosen.append(
            (str(path.relative_to(DATA)), image.crop((left, top, left + side_w, top + side_h)))
        )
    return chosen


def quality(samples: list[tuple[str, Image.Image]], threads: int) -> dict[str, Any]:
    nets = {m: Upscaler(m, threads=threads, tile=128) for m in METHODS}  # type: ignore[arg-type]
    scores: dict[str, dict[str, list[float]]] = {m: {"psnr": [], "ssim": []} for m in METHODS}
    outputs: dict[str, dict[str, Image.Image]] = {}
    for name, original in samples:
        small = original.resize(
            (original.width // SCALE, original.height // SCALE), Image.Resampling.LANCZOS
        )
        ref = over_grey(original)
        outputs[name] = {"original": original, "input": small}
        for method in METHODS:
            up = nets[method].upscale(small)
            if up.fallback:
                raise SystemExit(f"{method} fell back to Lanczos: {up.fallback}")
            got = over_grey(up.image)
            scores[method]["psnr"].append(psnr(ref, got))
            scores[method]["ssim"].append(ssim(ref, got))
            outputs[name][method] = up.image
    out: dict[str, Any] = {"images": len(samples)}
    for method in METHODS:
        key = KEYS[method]
        out[f"{key}.psnr_db"] = round(float(statistics.mean(scores[method]["psnr"])), 3)
        out[f"{key}.ssim"] = round(float(statistics.mean(scores[method]["ssim"])), 4)
    for method in ("fast", "quality"):
        key = KEYS[method]
        out[f"{key}.psnr_gain_db"] = round(out[f"{key}.psnr_db"] - out["lanczos.psnr_db"], 3)
        out[f"{key}.ssim_gain"] = round(out[f"{key}.ssim"] - out["lanczos.ssim"], 4)
        wins = sum(
            int(a > b)
            for a, b in zip(scores[method]["psnr"], scores["lanczos"]["psnr"], strict=True)
        )
        out[f"{key}.psnr_wins_over_lanczos"] = wins
    sheet(outputs)
    return out


def sheet(outputs: dict[str, dict[str, Image.Image]], rows: int = 5) -> None:
    """Original | input (nearest x4) | Lanczos | fast | x4plus, over grey."""
    names = list(outputs)[:: max(1, len(outputs) // rows)][:rows]
    cell = 128
    labels = ["original", "input (x4 nearest)", "Lanczos", "fast (animevideov3)", "x4plus"]
    canvas = Image.new("RGB", (cell * 5, (cell + 14) * len(names) + 14), (128, 128, 128))
    draw = ImageDraw.Draw(canvas)
    for col, label in enumerate(labels):
        draw.text((col * cell + 3, 2), label, fill=(255, 255, 255))
    for row, name in enumerate(names):
        o = outputs[name]
        small = o["input"].resize(o["original"].size, Image.Resampling.NEAREST)
        for col, img in enumerate([o["original"], small, o["lanczos"], o["fast"], o["quality"]]):
            tile = Image.new("RGBA", img.size, (128, 128, 128, 255))
            tile.alpha_composite(img.convert("RGBA"))
            tile.thumbnail((cell, cell), Image.Resampling.NEAREST)
            canvas.paste(tile.convert("RGB"), (col * cell, 14 + row * (cell + 14)))
        draw.text((3, 14 + row * (cell + 14) + cell), name[-40:], fill=(255, 255, 255))
    SHEET.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(SHEET, optimize=True)


def speed(method: str, side: int, threads: int) -> float:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (side // 8, side // 8, 3), dtype=np.uint8)
    image = Image.fromarray(base).resize((side, side), Image.Resampling.BICUBIC)
    net = Upscaler(method, threads=threads, tile=128)  # type: ignore[arg-type]
    net.upscale(image.resize((32, 32)))  # warm-up: loads the weights
    t0 = time.perf_counter()
    out = net.upscale(image)
    wall = time.perf_counter() - t0
    return out.image.width * out.image.height / 1e6 / wall


def memory_child(side: int, tiles: int, threads: int) -> None:
    """Run in a fresh process: upscale a side x side input, print peak RSS (MB)."""
    upscaler = Upscaler("quality", threads=threads, tile=128)
    net = upscaler._load()
    ran = {"n": 0, "last": None}

    def limited(piece: np.ndarray) -> np.ndarray:
        if tiles <= 0 or ran["n"] < tiles:
            ran["n"] += 1
            ran["last"] = net(piece)
            return ran["last"]  # type: ignore[return-value]
        last = ran["last"]
        h, w = piece.shape[0] * SCALE, piece.shape[1] * SCALE
        return np.ascontiguousarray(last[:h, :w])  # type: ignore[index]

    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, (side, side, 3), dtype=np.uint8))
    out, _ = upscaler._tiled(limited, image, tileable=False, progress=None)
    out.save(os.devnull, format="PNG")
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_rss_mb": peak_kb / 1024, "tiles_run": ran["n"]}))


def memory(side: int, tiles: int, threads: int) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--memory-child", str(side), str(tiles), str(threads)]
    proc = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=3600)
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer images, smaller inputs")
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--x4plus-side", type=int, default=256)
    parser.add_argument("--x4plus-mem-tiles", type=int, default=0, help="0: every tile")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-child", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(*args.memory_child)
        return
    if args.quick:
        args.images, args.crop, args.side, args.x4plus_side = 6, 64, 64, 32
        args.x4plus_mem_tiles = args.x4plus_mem_tiles or 1
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    out: dict[str, Any] = quality(images(args.images, args.crop), args.threads)
    out["fast.mpix_per_s"] = round(speed("fast", args.side, args.threads), 4)
    out["fast.speed_input_side"] = args.side
    out["x4plus.mpix_per_s"] = round(speed("quality", args.x4plus_side, args.threads), 5)
    out["x4plus.speed_input_side"] = args.x4plus_side
    out["lanczos.mpix_per_s"] = round(speed("lanczos", args.side, args.threads), 3)
    mem = memory(1024, args.x4plus_mem_tiles, args.threads)
    out["x4plus.peak_rss_mb_1024"] = round(mem["peak_rss_mb"], 1)
    out["x4plus.mem_tiles_run"] = mem["tiles_run"]
    out["x4plus.mem_tiles_total"] = (1024 // 128) ** 2
    out.update(
        {
            "threads": args.threads,
            "gpu": False,
            "quick": args.quick,
            "crop": args.crop,
            "wall_s": round(time.perf_counter() - started, 1),
            "loadavg": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "cpu_count": os.cpu_count(),
        }
    )
    print(f"{'figure':36} value")
    for key in sorted(out):
        print(f"{key:36} {out[key]}")
    target = RESULTS if not args.quick else RESULTS.with_name("upscale_quick.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
