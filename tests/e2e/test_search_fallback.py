"""Fallback: with the vector backend unavailable, search answers from keywords, flags it, counts it.

Assets are indexed with the embedded backends; then a second platform on the
same catalog and keyword index is pointed at a pgvector server that does not
exist (a free port with nothing listening), which is what a vector database
outage looks like to the API.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from agora.api.app import create_app
from agora.config import Settings
from agora.runtime import Platform
from agora.search.base import FALLBACK_VECTOR_DOWN
from agora.testing.api import bearer, drain_pipeline
from agora.testing.net import free_port

LISTINGS = [
    ("Desert tank sprite", "A sand-coloured battle tank seen from above.", ["tank", "2d"]),
    ("Gold coin pickup", "Spinning gold coin for platformers.", ["coin", "2d"]),
    ("Red sports car", "Low-poly red car with four wheels.", ["car", "3d"]),
]


def fallbacks_counted() -> float:
    value = REGISTRY.get_sample_value("agora_fallbacks_total", {"kind": FALLBACK_VECTOR_DOWN})
    return value or 0.0


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalog and embedded indexes holding three text-only listings."""
    # Search needs only integrity + index; tagging and moderation load models for nothing.
    pipeline = {"disabled_steps": ["tagging", "moderation"]}
    settings = Settings.load(
        data_dir=tmp_path_factory.mktemp("fallback") / "agora", pipeline=pipeline
    )
    platform = Platform.build(settings)
    platform.people.upsert_seller("s1", {"name": "Shop"}, "test")
    for title, description, tags in LISTINGS:
        meta = {"title": title, "description": description, "tags": tags, "seller_id": "s1"}
        platform.assets.create(meta, [], [], "test")
    drain_pipeline(platform)
    platform.close()
    return settings.data_dir


@pytest.fixture
def down(data_dir: Path) -> Iterator[TestClient]:
    """The API with its vector backend unreachable."""
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing?connect_timeout=1"
    settings = Settings.load(data_dir=data_dir, search={"vector_url": dead})
    platform = Platform.build(settings)
    token = platform.keys.create(["read"]).token
    with TestClient(create_app(platform, start_background=False)) as client:
        client.headers.update(bearer(token))
        yield client
    platform.close()


def test_vector_backend_down_answers_from_keywords_flags_and_counts(down):
    before = fallbacks_counted()
    r = down.get("/api/v1/search", params={"q": "tank"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["degraded"] is True
    assert body["fallbacks"] == [FALLBACK_VECTOR_DOWN]
    assert [h["asset"]["title"] for h in body["hits"]] == ["Desert tank sprite"]
    assert set(body["hits"][0]["scores"]) == {"keyword"}
    assert set(body["models"]) == {"keyword"}
    assert fallbacks_counted() == before + 1

    # Semantic search degrades the same way, and the counter is exported.
    r = down.post("/api/v1/search/semantic", json={"q": "gold coin"})
    assert r.status_code == 200 and r.json()["fallbacks"] == [FALLBACK_VECTOR_DOWN]
    assert fallbacks_counted() == before + 2
    metrics = down.get("/metrics").text
    assert f'agora_fallbacks_total{{kind="{FALLBACK_VECTOR_DOWN}"}}' in metrics


def test_visual_search_without_vectors_is_503(down):
    r = down.post("/api/v1/search/visual", json={"text": "tank"})
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")


def test_healthy_backends_take_no_fallback(data_dir):
    platform = Platform.build(Settings.load(data_dir=data_dir))
    try:
        before = fallbacks_counted()
        from agora.search import SearchQuery

        result = platform.search.search(SearchQuery("sports car"))
        assert result.fallbacks == [] and result.hits[0].asset["title"] == "Red sports car"
        assert {"keyword", "text"} <= set(result.hits[0].scores)
        assert fallbacks_counted() == before
    finally:
        platform.close()
