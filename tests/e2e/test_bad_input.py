"""Bad input gets the right 4xx problem+json, and the platform keeps working after it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agora.api.app import create_app
from agora.config import Settings
from agora.runtime import Platform
from agora.testing.api import bearer, drain_pipeline
from agora.testing.samples import png_bomb, tiny_png, truncated_png

PROBLEM = "application/problem+json"


@pytest.fixture
def small_platform(tmp_path: Path) -> Iterator[Platform]:
    settings = Settings.load(data_dir=tmp_path / "agora")
    settings.uploads.max_file_bytes = 64 * 1024
    # Keys on the default rate get 5/min and a burst capped at one minute (5);
    # the writer's own 10,000/min key must never be refused by a fast machine.
    settings.security.rate_limit_per_minute = 5
    settings.security.rate_limit_burst = 1000
    p = Platform.build(settings)
    yield p
    p.close()


@pytest.fixture
def api(small_platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(small_platform, start_background=False)) as c:
        yield c


@pytest.fixture
def writer(small_platform: Platform) -> str:
    # A generous per-key limit so only the dedicated test hits the rate limit.
    token = small_platform.keys.create(["write", "read"], rate_limit_per_minute=10_000).token
    return token


def _post(api: TestClient, token: str, meta: object, files=(), images=()):
    raw = meta if isinstance(meta, str) else json.dumps(meta)
    parts = [("metadata", (None, raw))]
    parts += [("files", f) for f in files] + [("images", f) for f in images]
    return api.post("/api/v1/assets", headers=bearer(token), files=parts)


def _assert_problem(r, status: int, fragment: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status and body["type"] and body["title"]
    assert fragment.lower() in body["detail"].lower(), body


META = {"title": "Sprite", "seller_id": "s1"}


@pytest.fixture(autouse=True)
def _seller(api: TestClient, writer: str) -> None:
    api.put("/api/v1/sellers/s1", headers=bearer(writer), json={"name": "S"})


@pytest.mark.parametrize(
    ("files", "images", "status", "fragment"),
    [
        ([("empty.png", b"", "image/png")], [], 422, "empty"),
        ([], [("empty.png", b"", "image/png")], 422, "empty"),
        ([], [("cut.png", truncated_png(), "image/png")], 422, "truncated"),
        ([], [("bomb.png", png_bomb(), "image/png")], 413, "pixels"),
        ([], [("liar.png", b"#!/bin/sh\necho not an image\n", "image/png")], 415, "image"),
        ([("big.glb", b"\x00" * (64 * 1024 + 1), "model/gltf-binary")], [], 413, "limit"),
    ],
    ids=[
        "empty-file",
        "zero-byte-image",
        "truncated-png",
        "png-bomb",
        "lying-extension",
        "oversized",
    ],
)
def test_bad_uploads(api: TestClient, writer: str, files, images, status, fragment) -> None:
    _assert_problem(_post(api, writer, META, files, images), status, fragment)


def _errors(r) -> set[tuple]:
    """The ``loc`` of each validation error of a 422 problem."""
    _assert_problem(r, 422, "validation")
    return {tuple(e["loc"]) for e in r.json()["errors"]}


def test_malformed_metadata_json(api: TestClient, writer: str) -> None:
    r = _post(api, writer, '{"title": "x",')
    _assert_problem(r, 400, "not valid json")
    assert r.json()["errors"][0]["loc"] == ["body", "metadata"]
    _assert_problem(_post(api, writer, "x" * (64 * 1024 + 1)), 413, "metadata exceeds")
    r = api.post("/api/v1/assets", files=[("metadata", (None, "x" * (64 * 1024 + 1)))])
    _assert_problem(r, 401, "missing api key")  # the key is checked before any limit


def test_invalid_metadata_fields(api: TestClient, writer: str) -> None:
    r = _post(api, writer, {"title": "", "seller_id": "s1", "price": -1})
    assert _errors(r) == {("body", "metadata", "title"), ("body", "metadata", "price")}
    r = _post(api, writer, {"title": "x", "seller_id": "s1", "bogus": 1})
    assert _errors(r) == {("body", "metadata", "bogus")}
    assert _errors(_post(api, writer, ["not", "an", "object"])) == {("body", "metadata")}
    assert _errors(api.post("/api/v1/assets", headers=bearer(writer), files=[])) == {
        ("body", "metadata")
    }
    # Well-formed but naming a seller that does not exist: a 422 from the catalog.
    _assert_problem(_post(api, writer, {"title": "x", "seller_id": "ghost"}), 422, "seller")


def test_bad_patch_bodies(api: TestClient, writer: str) -> None:
    url = f"/api/v1/assets/{_post(api, writer, META).json()['id']}"
    assert _errors(api.patch(url, headers=bearer(writer), json={})) == {("body",)}
    assert _errors(api.patch(url, headers=bearer(writer), json={"titel": "typo"})) == {
        ("body", "titel")
    }
    assert _errors(api.patch(url, headers=bearer(writer), json={"stock": -1, "price": "x"})) == {
        ("body", "stock"),
        ("body", "price"),
    }
    assert _errors(api.patch(url, headers=bearer(writer), json=[1])) == {("body",)}
    r = api.patch(url, headers=bearer(writer) | {"Content-Type": "application/json"}, content=b"{")
    _assert_problem(r, 400, "not valid json")


def test_bad_batch_imports(api: TestClient, writer: str, small_platform: Platform) -> None:
    def post(body: bytes, media: str = "application/x-ndjson"):
        headers = bearer(writer) | {"Content-Type": media}
        return api.post("/api/v1/assets:batch", headers=headers, content=body)

    _assert_problem(post(b""), 422, "empty body")
    _assert_problem(post(b"\n \n"), 422, "empty body")
    line = json.dumps(META).encode()
    _assert_problem(post(line, "application/x-www-form-urlencoded"), 415, "application/x-ndjson")
    small_platform.settings.uploads.max_batch_lines = 3
    _assert_problem(post(b"\n".join([line] * 4)), 413, "more than 3 lines")
    small_platform.settings.uploads.max_metadata_bytes = 200
    out = post(b"\n".join([line, json.dumps(META | {"description": "x" * 300}).encode()]))
    assert out.status_code == 202, out.text
    assert [(r["accepted"], r.get("status")) for r in out.json()["results"]] == [
        (True, None),
        (False, 413),
    ]


def test_malformed_event_body(api: TestClient, writer: str) -> None:
    r = api.post(
        "/api/v1/events",
        headers=bearer(writer) | {"Content-Type": "application/json"},
        content=b'{"events": [',
    )
    _assert_problem(r, 400, "not valid json")


def test_null_and_nul_values_are_422(api: TestClient, writer: str) -> None:
    asset_id = _post(api, writer, META).json()["id"]
    for body in (
        {"title": None},
        {"description": None},
        {"status": None},
        {"tags": None},
        {"title": "bad\u0000title"},
    ):
        r = api.patch(f"/api/v1/assets/{asset_id}", headers=bearer(writer), json=body)
        assert _errors(r) == {("body",) if None in body.values() else ("body", "title")}, body
        assert "null" in str(r.json()["errors"]) or "NUL" in str(r.json()["errors"])
    r = _post(api, writer, {"title": "a\u0000b", "seller_id": "s1"})
    assert _errors(r) == {("body", "metadata", "title")}
    r = api.patch(f"/api/v1/assets/{asset_id}", headers=bearer(writer), json={"price": None})
    assert r.status_code == 200 and r.json()["price"] is None


def test_out_of_range_event_fields_are_422(api: TestClient, writer: str) -> None:
    asset_id = _post(api, writer, META).json()["id"]
    events = [
        {"user_id": "u", "asset_id": asset_id, "type": "view", "ts": ts}
        for ts in (1e20, -1e20, 10**30, "not a date")
    ]
    events.append({"user_id": "u\u0000", "asset_id": asset_id, "type": "view"})
    events.append({"user_id": "u", "asset_id": asset_id, "type": "view", "event_id": ""})
    r = api.post("/api/v1/events", headers=bearer(writer), json={"events": events})
    _assert_problem(r, 422, "validation")
    assert {e["loc"][2] for e in r.json()["errors"]} == set(range(len(events)))


def test_context_beyond_64_bit_integers_is_422(api: TestClient, writer: str) -> None:
    # Found by the API fuzzing: JSON parses any integer, the bus stores 64 bits.
    asset_id = _post(api, writer, META).json()["id"]
    huge = {"user_id": "u", "asset_id": asset_id, "type": "view", "context": {"n": -(10**35)}}
    r = api.post("/api/v1/events", headers=bearer(writer), json={"events": [huge]})
    _assert_problem(r, 422, "validation")
    assert r.json()["errors"][0]["loc"][-1] == "context"
    ok = {"user_id": "u", "asset_id": asset_id, "type": "view", "context": {"n": 2**63 - 1}}
    assert api.post("/api/v1/events", headers=bearer(writer), json={"events": [ok]}).is_success


def test_audit_cursor_out_of_range(api: TestClient, small_platform: Platform) -> None:
    admin = small_platform.keys.create(["admin"], rate_limit_per_minute=10_000).token
    r = api.get("/api/v1/audit", params={"cursor": 10**25}, headers=bearer(admin))
    _assert_problem(r, 422, "validation")


def test_unknown_ids(api: TestClient, writer: str) -> None:
    _assert_problem(api.get("/api/v1/assets/nope", headers=bearer(writer)), 404, "not found")
    _assert_problem(api.get("/api/v1/jobs/nope", headers=bearer(writer)), 404, "not found")
    _assert_problem(
        api.patch("/api/v1/assets/nope", headers=bearer(writer), json={"stock": 1}),
        404,
        "not found",
    )


def test_keys_missing_invalid_underscoped(api: TestClient, small_platform: Platform) -> None:
    _assert_problem(api.get("/api/v1/assets"), 401, "missing api key")
    _assert_problem(api.get("/api/v1/assets", headers=bearer("agora_abc_def")), 401, "api key")
    _assert_problem(api.get("/api/v1/assets", headers=bearer("garbage")), 401, "api key")
    reader = small_platform.keys.create(["read"]).token
    _assert_problem(_post(api, reader, META), 403, "write")


def test_rate_limit(api: TestClient, small_platform: Platform) -> None:
    token = small_platform.keys.create(["read"]).token  # default: 5/min, burst 5
    codes = [api.get("/api/v1/assets", headers=bearer(token)).status_code for _ in range(8)]
    assert codes[:5] == [200] * 5
    r = api.get("/api/v1/assets", headers=bearer(token))
    _assert_problem(r, 429, "")
    assert int(r.headers["retry-after"]) >= 1


def test_platform_keeps_working_after_bad_input(
    api: TestClient, writer: str, small_platform: Platform
) -> None:
    for files, images in [
        ([], [("bomb.png", png_bomb(), "image/png")]),
        ([], [("cut.png", truncated_png(), "image/png")]),
        ([("e", b"", None)], []),
    ]:
        assert _post(api, writer, META, files, images).status_code >= 400
    ok = _post(api, writer, META, images=[("ok.png", tiny_png(), "image/png")])
    assert ok.status_code == 202
    drain_pipeline(small_platform)
    asset = api.get(f"/api/v1/assets/{ok.json()['id']}", headers=bearer(writer)).json()
    assert asset["status"] == "active"
    assert api.get("/healthz").status_code == 200
