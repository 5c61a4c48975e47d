"""Resumable bulk imports over the API: streamed JSON Lines and Parquet, image
folders with a side file, resume by import id, back-pressure, deferred pipelines
and the end report (embedded backends)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select

from agora.api.app import create_app
from agora.bus.base import Topics
from agora.config import Settings
from agora.pipeline.runner import PIPELINE_GROUP
from agora.runtime import Platform
from agora.storage.tables import AssetRow, ImportItemRow
from agora.testing.api import bearer, drain_pipeline
from agora.testing.samples import tiny_png, truncated_png

NDJSON = {"Content-Type": "application/x-ndjson"}


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    # A small line cap shows that an import id lifts it; a small backlog bound
    # shows back-pressure without thousands of assets.
    settings = Settings.load(
        data_dir=tmp_path / "agora",
        uploads={"max_batch_lines": 2, "import_max_backlog": 3, "import_retry_after_s": 2},
    )
    p = Platform.build(settings)
    yield p
    p.close()


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform, start_background=False)) as c:
        yield c


@pytest.fixture
def writer(client: TestClient, platform: Platform) -> dict[str, str]:
    headers = bearer(platform.keys.create(["write", "read"]).token)
    r = client.put("/api/v1/sellers/s1", headers=headers, json={"name": "Pixel Forge"})
    assert r.status_code == 200, r.text
    return headers


def _lines(start: int, n: int) -> str:
    return "\n".join(
        json.dumps({"title": f"Coin {i}", "seller_id": "s1"}) for i in range(start, start + n)
    )


def _assets(platform: Platform) -> int:
    with platform.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(AssetRow)) or 0)


def _post(client: TestClient, headers: dict[str, str], body: str | bytes, **params: object):
    media = NDJSON if isinstance(body, str) else {"Content-Type": "application/vnd.apache.parquet"}
    return client.post("/api/v1/assets:batch", headers=headers | media, content=body, params=params)


def test_streamed_import_resumes_without_loss_or_duplicates(
    client: TestClient, platform: Platform, writer: dict[str, str]
) -> None:
    # Three lines: over max_batch_lines (2) without an import id, fine with one.
    assert _post(client, writer, _lines(0, 3)).status_code == 413
    body = _lines(0, 2) + "\n{not json\n" + json.dumps({"title": "Ghost", "seller_id": "nobody"})
    first = _post(client, writer, body, import_id="cat-1")
    assert first.status_code == 202, first.text
    out = first.json()
    assert (out["import_id"], out["accepted"], out["rejected"], out["skipped"]) == (
        "cat-1",
        2,
        2,
        0,
    )
    assert [(r["line"], r["status"]) for r in out["results"]] == [(3, 400), (4, 422)]
    # The connection dropped; the client re-sends everything plus what follows.
    again = _post(client, writer, body + "\n" + _lines(4, 1), import_id="cat-1", complete=True)
    assert again.status_code == 202, again.text
    out = again.json()
    assert (out["accepted"], out["rejected"], out["skipped"]) == (1, 2, 2)
    assert _assets(platform) == 3
    report = client.get("/api/v1/imports/cat-1", headers=writer).json()
    assert (report["accepted"], report["rejected"], report["processed"]) == (3, 2, 0)
    assert report["complete"] and report["status"] == "running"
    assert [r["line"] for r in report["rejections"]] == [3, 4]
    assert "unknown seller" in report["rejections"][1]["error"]
    assert drain_pipeline(platform) == 3
    report = client.get("/api/v1/imports/cat-1", headers=writer).json()
    assert (report["status"], report["processed"], report["percent"]) == ("succeeded", 3, 100.0)
    # A complete import takes no more lines: its report says where it stands.
    late = _post(client, writer, _lines(9, 1), import_id="cat-1")
    assert late.status_code == 409
    assert late.headers["content-type"].startswith("application/problem+json")


def test_first_line_numbers_chunks_as_in_the_file(
    client: TestClient, platform: Platform, writer: dict[str, str]
) -> None:
    assert _post(client, writer, _lines(0, 2), import_id="chunks").json()["accepted"] == 2
    out = _post(client, writer, "[1]\n" + _lines(2, 1), import_id="chunks", first_line=3).json()
    assert [(r["line"], r["status"]) for r in out["results"]] == [(3, 422)]
    # Re-sending the second chunk alone skips its accepted line only.
    out = _post(client, writer, "[1]\n" + _lines(2, 1), import_id="chunks", first_line=3).json()
    assert (out["accepted"], out["skipped"], out["rejected"]) == (0, 1, 1)


def test_backlog_answers_503_with_retry_after_then_accepts(
    client: TestClient, platform: Platform, writer: dict[str, str]
) -> None:
    assert _post(client, writer, _lines(0, 4), import_id="busy").json()["accepted"] == 4
    assert platform.bus.depth(Topics.ASSET_UPLOADED, PIPELINE_GROUP) == 4
    refused = _post(client, writer, _lines(4, 1), import_id="busy", first_line=5)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "3"
    problem = refused.json()
    assert problem["type"].endswith("/overloaded") and problem["backlog"] == 4
    assert drain_pipeline(platform) == 4
    accepted = _post(client, writer, _lines(4, 1), import_id="busy", first_line=5)
    assert accepted.status_code == 202 and accepted.json()["accepted"] == 1


def test_deferred_import_holds_pipelines_until_complete(
    client: TestClient, platform: Platform, writer: dict[str, str]
) -> None:
    # Over the backlog bound, never refused: nothing reaches the pipeline yet.
    out = _post(client, writer, _lines(0, 5), import_id="later", defer=True).json()
    assert out["accepted"] == 5
    assert platform.bus.depth(Topics.ASSET_UPLOADED, PIPELINE_GROUP) == 0
    done = client.post("/api/v1/imports/later/complete", headers=writer)
    assert done.status_code == 200, done.text
    assert done.json()["deferred"] and done.json()["processed"] == 0
    assert drain_pipeline(platform) == 5
    report = client.get("/api/v1/imports/later", headers=writer).json()
    assert (report["status"], report["processed"]) == ("succeeded", 5)
    # Completing again publishes nothing twice.
    assert client.post("/api/v1/imports/later/complete", headers=writer).status_code == 200
    assert platform.bus.depth(Topics.ASSET_UPLOADED, PIPELINE_GROUP) == 0


def test_lost_item_record_is_recovered_not_duplicated(
    client: TestClient, platform: Platform, writer: dict[str, str]
) -> None:
    assert _post(client, writer, _lines(0, 2), import_id="crash").json()["accepted"] == 2
    # A crash after the assets were created, before their items were recorded.
    with platform.db.session() as s:
        s.execute(delete(ImportItemRow).where(ImportItemRow.import_id == "crash"))
    out = _post(client, writer, _lines(0, 2), import_id="crash", complete=True).json()
    assert (out["accepted"], out["rejected"]) == (2, 0)
    assert _assets(platform) == 2


def _parquet(rows: list[dict[str, object]]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), sink, row_group_size=2)
    return sink.getvalue()


def test_parquet_body_and_bad_parquet(
    client: TestClient, platform: Platform, writer: dict[str, str]
) -> None:
    rows = [
        {"title": "Tank", "seller_id": "s1", "tags": "tank;vehicle", "price": 4.99},
        {"title": "Coin", "seller_id": "s1", "tags": None, "price": None},
        {"title": "", "seller_id": "s1", "tags": None, "price": None},
    ]
    out = _post(client, writer, _parquet(rows), import_id="pq", complete=True).json()
    assert (out["accepted"], out["rejected"]) == (2, 1)
    assert out["results"][0]["line"] == 3
    items = client.get("/api/v1/assets", headers=writer).json()["items"]
    assert {a["title"]: a["tags"] for a in items}["Tank"] == ["tank", "vehicle"]
    bad = _post(client, writer, b"PAR1 this is not parquet", import_id="pq-bad")
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "Parquet" in bad.json()["detail"]


def test_image_folder_with_side_file(
    client: TestClient, platform: Platform, writer: dict[str, str]
) -> None:
    side = b"file,title,tags,category\ntank.png,Desert tank,tank;2d,vehicles\n"
    images = [
        ("images", ("tank.png", tiny_png(), "image/png")),
        ("images", ("coin.png", tiny_png(), "image/png")),
        ("images", ("broken.png", truncated_png(), "image/png")),
    ]
    files = [("metadata", ("metadata.csv", side, "text/csv")), *images]
    r = client.post(
        "/api/v1/imports/sprites/images",
        headers=writer,
        files=files,
        params={"seller_id": "s1", "complete": True},
    )
    assert r.status_code == 202, r.text
    out = r.json()
    assert (out["accepted"], out["rejected"]) == (2, 1)
    report = client.get("/api/v1/imports/sprites", headers=writer).json()
    assert report["rejections"][0]["name"] == "broken.png"
    titles = {a["title"]: a for a in client.get("/api/v1/assets", headers=writer).json()["items"]}
    assert titles["Desert tank"]["tags"] == ["tank", "2d"]
    assert titles["coin"]["images"][0]["media_type"] == "image/png"
    assert drain_pipeline(platform) == 2
    assert client.get("/api/v1/imports/sprites", headers=writer).json()["status"] == "succeeded"


@pytest.mark.parametrize(
    ("name", "side"),
    [
        ("metadata.csv", b"title,seller_id\nTank,s1\n"),  # no file column
        ("metadata.jsonl", b'{"file": "a.png"}\n{nope\n'),
        ("metadata.xml", b"<rows/>"),
        ("metadata.csv", b"file,title\na.png,A\na.png,B\n"),
    ],
)
def test_bad_side_file_is_a_422_problem(
    client: TestClient, platform: Platform, writer: dict[str, str], name: str, side: bytes
) -> None:
    files = [
        ("metadata", (name, side, "text/plain")),
        ("images", ("a.png", tiny_png(), "image/png")),
    ]
    r = client.post("/api/v1/imports/side/images", headers=writer, files=files)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "side file" in r.json()["detail"]
    assert _assets(platform) == 0


def test_unknown_or_foreign_import_ids(
    client: TestClient, platform: Platform, writer: dict[str, str]
) -> None:
    for r in (
        client.get("/api/v1/imports/nope", headers=writer),
        client.post("/api/v1/imports/nope/complete", headers=writer),
    ):
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/problem+json")
    assert _post(client, writer, _lines(0, 1), import_id="bad id!").status_code == 422
    other = bearer(platform.keys.create(["write"]).token)
    assert _post(client, writer, _lines(0, 1), import_id="mine").status_code == 202
    assert _post(client, other, _lines(0, 1), import_id="mine").status_code == 409


def test_streamed_body_may_exceed_the_request_limit(
    platform: Platform, writer: dict[str, str]
) -> None:
    # The whole-body limit guards buffered bodies; a streamed import holds one
    # chunk of lines at a time, each line bounded by max_metadata_bytes.
    platform.settings.uploads.max_request_bytes = 4096
    platform.settings.uploads.max_batch_lines = 10_000
    body = (_lines(0, 300) + "\n").encode()
    assert len(body) > 4096

    def chunked() -> Iterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    with TestClient(create_app(platform, start_background=False)) as small:
        r = small.post(
            "/api/v1/assets:batch",
            headers=writer | NDJSON,
            content=chunked(),
            params={"import_id": "big", "complete": True},
        )
        assert r.status_code == 202, r.text
        assert r.json()["accepted"] == 300
        whole = small.post("/api/v1/assets:batch", headers=writer | NDJSON, content=chunked())
        assert whole.status_code == 413
    assert _assets(platform) == 300
