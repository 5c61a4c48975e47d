"""The demo game-asset marketplace: vendored CC0 Kenney files turned into a catalog.

Everything is derived deterministically from the vendored files' folder and
file names (see ``README.md`` beside this module): one asset per sprite or 3D
model, six invented sellers (one unverified, low trust) and 200 invented users
(``u-1`` .. ``u-200``)
spread over eight regions. No network, no randomness beyond a fixed seed.

Example:
    >>> demo = build_demo_catalog()
    >>> len(demo.sellers), len(demo.users), len(demo.assets)
    (6, 200, 48)
    >>> demo.assets[0].metadata["title"]
    'Alien Blue Climb 1'
"""

from __future__ import annotations

import hashlib
import random
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ASSETS_DIR = Path(__file__).parent / "assets"
SPRITES_DIR = ASSETS_DIR / "sprites"
MODELS_DIR = ASSETS_DIR / "models"
MODEL_TEXTURE = MODELS_DIR / "Textures" / "colormap.png"

# Sprite folder -> (marketplace category, genre words used in text and tags).
SPRITE_CATEGORIES: dict[str, tuple[str, list[str]]] = {
    "alien": ("characters", ["platformer", "character", "hero"]),
    "enemies": ("enemies", ["platformer", "enemy", "creature"]),
    "items": ("items", ["platformer", "pickup", "collectible"]),
    "space_shooter": ("space", ["shmup", "space", "sci-fi"]),
    "tiles": ("tiles", ["platformer", "tileset", "level"]),
    "topdown_tanks": ("vehicles", ["top-down", "tank", "military"]),
}
MODEL_CATEGORY = "environment-3d"
CATEGORIES: tuple[str, ...] = (*(c for c, _ in SPRITE_CATEGORIES.values()), MODEL_CATEGORY)

# Price points a small asset store would use; chosen per asset from a stable hash.
SPRITE_PRICES = ("0.00", "0.99", "1.49", "1.99", "2.99", "4.99")
MODEL_PRICES = ("2.99", "4.99", "7.99", "9.99", "14.99")


@dataclass(frozen=True)
class DemoSeller:
    """An invented seller; ``attrs`` is what ``PeopleService.upsert_seller`` takes."""

    seller_id: str
    attrs: dict[str, Any]


@dataclass(frozen=True)
class DemoUser:
    """An invented buyer; ``attrs`` is what ``PeopleService.upsert_user`` takes."""

    user_id: str
    attrs: dict[str, Any]


@dataclass(frozen=True)
class DemoAsset:
    """One vendored file as a listing: API metadata plus the local files to upload."""

    key: str  # stable demo identity, e.g. "sprites/items/gemBlue"
    metadata: dict[str, Any]
    files: list[Path]
    images: list[Path]


@dataclass(frozen=True)
class DemoCatalog:
    """The whole demo marketplace."""

    sellers: list[DemoSeller]
    users: list[DemoUser]
    assets: list[DemoAsset] = field(default_factory=list)


SELLERS: tuple[tuple[str, str, float, bool], ...] = (
    ("pixel-forge", "Pixel Forge", 0.93, True),
    ("retro-raccoon", "Retro Raccoon Art", 0.86, True),
    ("starlane-studio", "Starlane Studio", 0.81, True),
    ("iron-tread-games", "Iron Tread Games", 0.74, True),
    ("blocktown-3d", "Blocktown 3D", 0.89, True),
    # The unverified, low-trust seller that ranking and moderation should notice.
    ("quickflip-assets", "QuickFlip Assets", 0.28, False),
)
CATEGORY_SELLER = {
    "items": "pixel-forge",
    "tiles": "pixel-forge",
    "characters": "retro-raccoon",
    "enemies": "retro-raccoon",
    "space": "starlane-studio",
    "vehicles": "iron-tread-games",
    MODEL_CATEGORY: "blocktown-3d",
}

# Region -> (centre lat, centre lon, share of users).
REGIONS: dict[str, tuple[float, float, float]] = {
    "eu-west": (48.86, 2.35, 0.20),
    "eu-central": (52.52, 13.40, 0.15),
    "us-east": (40.71, -74.01, 0.20),
    "us-west": (37.77, -122.42, 0.12),
    "sa-east": (-23.55, -46.63, 0.10),
    "ap-south": (19.08, 72.88, 0.08),
    "ap-northeast": (35.68, 139.69, 0.10),
    "af-south": (-33.92, 18.42, 0.05),
}
PLATFORMS = ("pc", "mobile", "console", "web")


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def humanize(stem: str) -> str:
    """``playerShip1_blue`` -> ``Player Ship 1 Blue``; ``road-corner`` -> ``Road Corner``."""
    words = re.sub(r"([a-z])([A-Z0-9])", r"\1 \2", stem)
    words = re.sub(r"([0-9])([A-Za-z])", r"\1 \2", words)
    return " ".join(w.capitalize() for w in re.split(r"[\s_\-]+", words) if w)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (no decoding needed)."""
    with path.open("rb") as fh:
        head = fh.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


def _sprite_asset(folder: str, path: Path) -> DemoAsset:
    category, genre = SPRITE_CATEGORIES[folder]
    key = f"sprites/{folder}/{path.stem}"
    title = humanize(path.stem)
    width, height = png_size(path)
    h = _stable_int(key)
    # About one listing in ten goes to the low-trust reseller, so each category has one.
    seller = "quickflip-assets" if h % 10 == 0 else CATEGORY_SELLER[category]
    words = [w.lower() for w in title.split() if not w.isdigit()]
    tags = sorted({*words, *genre, "2d", "sprite", "png"})
    description = (
        f"{title}: a {width}x{height} PNG sprite with transparency for {genre[0]} games, "
        f"from the {humanize(folder).lower()} set. Clean flat-vector style, ready to drop "
        "into an engine. Demo listing of a CC0 asset by Kenney (www.kenney.nl)."
    )
    metadata = {
        "title": title,
        "description": description,
        "tags": tags,
        "category": category,
        "price": SPRITE_PRICES[h % len(SPRITE_PRICES)],
        "currency": "USD",
        "seller_id": seller,
        "format": "png",
        "attributes": {
            "demo_key": key,
            "width": width,
            "height": height,
            "license": "CC0-1.0",
            "author": "Kenney",
        },
    }
    return DemoAsset(key, metadata, files=[path], images=[path])


def _model_asset(path: Path) -> DemoAsset:
    key = f"models/{path.stem}"
    title = humanize(path.stem)
    h = _stable_int(key)
    words = [w.lower() for w in title.split()]
    tags = sorted({*words, "3d", "low-poly", "city-builder", "glb", "environment"})
    description = (
        f"{title}: a low-poly 3D model (glTF binary) for city-builder and strategy games, "
        "textured with a shared colour-map atlas. Demo listing of a CC0 asset by Kenney "
        "(www.kenney.nl)."
    )
    metadata = {
        "title": title,
        "description": description,
        "tags": tags,
        "category": MODEL_CATEGORY,
        "price": MODEL_PRICES[h % len(MODEL_PRICES)],
        "currency": "USD",
        "seller_id": "quickflip-assets" if h % 10 == 0 else CATEGORY_SELLER[MODEL_CATEGORY],
        "format": "glb",
        "attributes": {"demo_key": key, "license": "CC0-1.0", "author": "Kenney"},
    }
    return DemoAsset(key, metadata, files=[path, MODEL_TEXTURE], images=[])


def _users(count: int, seed: int) -> list[DemoUser]:
    rng = random.Random(seed)
    names = list(REGIONS)
    weights = [REGIONS[r][2] for r in names]
    users = []
    for i in range(count):
        region = rng.choices(names, weights)[0]
        lat, lon, _ = REGIONS[region]
        attrs = {
            "region": region,
            "lat": round(lat + rng.gauss(0, 1.5), 4),
            "lon": round(lon + rng.gauss(0, 1.5), 4),
            "attributes": {"platform": rng.choice(PLATFORMS), "demo": True},
        }
        users.append(DemoUser(f"u-{i + 1}", attrs))
    return users


def build_demo_catalog(*, users: int = 200, seed: int = 7) -> DemoCatalog:
    """Sellers, users and one asset per vendored file, in a stable order."""
    sellers = [
        DemoSeller(sid, {"name": name, "trust_score": trust, "verified": verified, "banned": False})
        for sid, name, trust, verified in SELLERS
    ]
    assets = [
        _sprite_asset(folder, path)
        for folder in sorted(SPRITE_CATEGORIES)
        for path in sorted((SPRITES_DIR / folder).glob("*.png"))
    ]
    assets += [_model_asset(path) for path in sorted(MODELS_DIR.glob("*.glb"))]
    return DemoCatalog(sellers=sellers, users=_users(users, seed), assets=assets)
