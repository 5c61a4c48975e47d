"""Feature store endpoints: listing, one entity, batch reads, bad input."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from agora.api.app import create_app
from agora.config import Settings
from agora.runtime import Platform
from agora.testing.api import bearer


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    p = Platform.build(Settings.load(data_dir=tmp_path_factory.mktemp("feat")))
    p.features.online.write(
        "asset", ["a1", "a2"], {"price": [9.5, 20.0], "category": ["art", "audio"]}, time.time()
    )
    yield p
    p.close()


@pytest.fixture(scope="module")
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform, start_background=False)) as c:
        yield c


@pytest.fixture(scope="module")
def reader(platform: Platform) -> dict[str, str]:
    return bearer(platform.keys.create(["read"]).token)


def test_listing_has_the_standard_views(client: TestClient, reader: dict[str, str]) -> None:
    views = {v["name"]: v for v in client.get("/api/v1/features", headers=reader).json()["views"]}
    assert {"user_batch", "user_realtime", "asset_batch", "asset_realtime", "calendar"} <= set(
        views
    )
    names = {f["name"] for f in views["asset_realtime"]["features"]}
    assert {"views_last_hour", "ctr_last_hour"} <= names
    assert views["asset_batch"]["ttl_s"] == 2 * 86400 and views["asset_batch"]["owner"]
    feature = views["asset_realtime"]["features"][0]
    assert set(feature) == {"name", "dtype", "default", "description"}
    assert feature["dtype"] in {"float", "int", "bool", "string"}


def test_read_one_entity(client: TestClient, reader: dict[str, str]) -> None:
    r = client.get("/api/v1/features/asset/a1?features=price,category,views_1h", headers=reader)
    assert r.status_code == 200
    assert r.json()["features"] == {"price": 9.5, "category": "art", "views_1h": 0}
    full = client.get("/api/v1/features/asset/zzz", headers=reader).json()["features"]
    assert full["price"] is None and full["is_boosted_now"] is False


def test_batch_read(client: TestClient, reader: dict[str, str]) -> None:
    body = {"entity": "asset", "ids": ["a2", "a1", "nope"], "features": ["price"]}
    r = client.post("/api/v1/features:read", json=body, headers=reader)
    assert r.status_code == 200
    assert [row["features"]["price"] for row in r.json()["rows"]] == [20.0, 9.5, None]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"entity": "asset", "ids": ["a1"], "features": ["nope"]}, 404),
        ({"entity": "planet", "ids": ["a1"]}, 404),
        ({"entity": "asset", "ids": "a1"}, 422),
        ({"entity": "asset"}, 422),
        ({"entity": "asset", "ids": ["x"] * 10_001}, 413),
        ({"entity": "asset", "ids": ["bad\nid"]}, 422),
        ({"entity": "asset", "ids": ["a1"], "feature": ["price"]}, 422),  # a typo
        ({"entity": "asset", "ids": ["a1"], "features": "price"}, 422),
        ({"entity": "", "ids": ["a1"]}, 422),
        ({"entity": "asset", "ids": [""]}, 422),
    ],
)
def test_bad_reads(client: TestClient, reader: dict[str, str], body: dict, code: int) -> None:
    r = client.post("/api/v1/features:read", json=body, headers=reader)
    assert r.status_code == code, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if code == 422:
        assert r.json().get("errors") or r.json()["detail"]


def test_bad_json_is_400(client: TestClient, reader: dict[str, str]) -> None:
    h = {**reader, "Content-Type": "application/json"}
    r = client.post("/api/v1/features:read", content=b'{"entity": ', headers=h)
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"


def test_needs_a_key(client: TestClient) -> None:
    assert client.get("/api/v1/features/asset/a1").status_code == 401
