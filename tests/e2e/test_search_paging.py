"""Paging through search hits: one order per query, whatever the page size.

The bug this guards against: the candidate pool depended on ``offset`` and
``limit``, so on a real 9,867-product catalog the top 10 differed between
``limit=10`` and ``limit=1000`` for 183 of 261 queries, and paging repeated or
skipped items. Here 1,300 real-text listings (MiniLM vectors, BM25) are paged
through to 1,000 hits with page sizes 7, 50, 333 and 1000, in every text mode.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from agora.api.app import create_app
from agora.config import Settings
from agora.runtime import Platform
from agora.search.indexer import AssetIndexer
from agora.storage.tables import AssetRow, SellerRow
from agora.testing.api import bearer

SIZE = 1300
COLOURS = ["red", "green", "desert", "grey", "olive", "blue", "black", "white", "rusty", "snow"]
KINDS = ["battle tank", "light tank", "tank destroyer", "heavy tank", "tank hull", "tank turret"]
STYLES = ["low poly", "pixel art", "top-down", "isometric", "hand-painted", "voxel", "cartoon"]
EXTRAS = ["with tracks", "with a long barrel", "for strategy games", "with damage states", ""]


def listings() -> list[dict[str, Any]]:
    rng = random.Random(7)
    out = []
    for i in range(SIZE):
        colour, kind, style = rng.choice(COLOURS), rng.choice(KINDS), rng.choice(STYLES)
        extra = rng.choice(EXTRAS)
        out.append(
            {
                "id": f"t{i:05d}",
                "title": f"{colour.title()} {kind} {i}",
                "description": f"A {style} {colour} {kind} sprite {extra}.".replace(" .", "."),
                "tags": rng.sample(["tank", "vehicle", "army", "2d", "3d", style], 3),
                "images": [],
            }
        )
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("paging") / "agora")
    platform = Platform.build(settings)
    assets = listings()
    with platform.db.session() as s:
        s.execute(insert(SellerRow), [{"id": "s1", "name": "Tank works"}])
        s.execute(
            insert(AssetRow),
            [
                {
                    "id": a["id"],
                    "seller_id": "s1",
                    "title": a["title"],
                    "description": a["description"],
                    "creator_tags": a["tags"],
                    "status": "active",
                    "price": 1 + n % 20,
                }
                for n, a in enumerate(assets)
            ],
        )
    indexer = AssetIndexer(platform.search.backends, platform.blobs)
    for start in range(0, SIZE, 256):
        indexer.index_many(assets[start : start + 256], prune=False)
    token = platform.keys.create(["read"]).token
    with TestClient(create_app(platform, start_background=False)) as client:
        yield {"client": client, "headers": bearer(token)}
    platform.close()


def page_through(world: dict[str, Any], mode: str, size: int, upto: int = 1000) -> list[tuple]:
    """Hits (id, score) from consecutive pages of ``size`` until ``upto`` are seen."""
    hits: list[tuple] = []
    offset = 0
    while len(hits) < upto:
        params = {"q": "armoured battle tank", "mode": mode, "offset": offset, "limit": size}
        r = world["client"].get("/api/v1/search", params=params, headers=world["headers"])
        assert r.status_code == 200, r.text
        body = r.json()
        hits += [(h["id"], h["score"]) for h in body["hits"]]
        if body["next_offset"] is None:  # the last page: every hit was seen
            assert len(hits) == body["total"], (mode, size, offset)
            break
        assert body["next_offset"] == offset + size, (mode, size, offset)
        offset = body["next_offset"]
    assert len(hits) >= upto, (mode, size, len(hits))
    return hits[:upto]


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_pages_of_any_size_give_one_order_without_repeats_or_skips(world, mode):
    whole = page_through(world, mode, 1000)
    ids = [doc for doc, _ in whole]
    assert len(ids) == 1000 and len(set(ids)) == 1000
    for size in (7, 50, 333):
        # Same hits, same order, same fused scores: nothing repeated, nothing skipped.
        assert page_through(world, mode, size) == whole, (mode, size)
