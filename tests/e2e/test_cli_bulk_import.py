"""``agora import`` as a resumable, streamed import: against a live server
(``--url``) and into a local data folder, on embedded backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from agora.api.app import create_app
from agora.bus.base import Topics
from agora.catalog.listing import AssetFilter
from agora.cli.bulk import Chunk, asset_record
from agora.cli.bulk_run import BulkOptions, BulkUi, run_bulk
from agora.cli.bulk_sinks import RemoteSink
from agora.cli.main import app
from agora.config import Settings
from agora.pipeline.runner import PIPELINE_GROUP
from agora.runtime import Platform
from agora.storage.tables import AssetRow
from agora.testing.api import drain_pipeline
from agora.testing.net import LiveServer
from agora.testing.samples import tiny_png

# A live uvicorn server in a thread and CLI calls against it.
pytestmark = pytest.mark.process


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    settings = Settings.load(
        data_dir=tmp_path / "agora",
        uploads={"import_max_backlog": 2, "import_retry_after_s": 1},
    )
    p = Platform.build(settings)
    p.people.upsert_seller("s1", {"name": "Pixel Forge"}, "test")
    yield p
    p.close()


@pytest.fixture
def served(platform: Platform) -> Iterator[tuple[str, str]]:
    token = platform.keys.create(["read", "write"]).token
    with LiveServer(create_app(platform, start_background=False)) as url:
        yield url, token


def _assets(platform: Platform) -> int:
    with platform.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(AssetRow)) or 0)


def _listed(platform: Platform) -> list[dict[str, Any]]:
    return platform.assets.list(AssetFilter(limit=100))[0]


def _jsonl(path: Path, n: int, bad_at: int | None = None) -> Path:
    lines = [
        json.dumps({"title": f"Coin {i}", "seller_id": "s1", "tags": "coin;gold"}) for i in range(n)
    ]
    if bad_at is not None:
        lines[bad_at] = "{not json"
    path.write_text("\n".join(lines) + "\n")
    return path


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_cli_streams_resumes_and_reports(
    served: tuple[str, str], platform: Platform, tmp_path: Path
) -> None:
    url, token = served
    source = _jsonl(tmp_path / "listings.jsonl", 5, bad_at=2)
    remote = ["--url", url, "--key", token]
    code, out = _cli(
        *remote, "import", str(source), "--import-id", "cli-1", "--chunk", "2", "--no-wait"
    )
    assert code == 1, out  # one line could not be read
    assert "imported 4 of 5 records from listings.jsonl as assets (1 failed)" in out
    assert "line 3: invalid JSON" in out
    assert drain_pipeline(platform) == 4
    # Running the same command again: the import is complete, nothing is re-sent.
    code, out = _cli(*remote, "import", str(source), "--import-id", "cli-1")
    assert "already complete" in out and "processed 4 (0 failed)" in out
    assert _assets(platform) == 4
    assert {tuple(a["tags"]) for a in _listed(platform)} == {("coin", "gold")}


def test_interrupted_import_resumes_without_duplicates(
    served: tuple[str, str], platform: Platform, tmp_path: Path
) -> None:
    url, token = served
    source = _jsonl(tmp_path / "big.jsonl", 6)
    sink = RemoteSink(url, token, on_wait=lambda _: None, sleep=lambda _: None)
    try:
        # The first chunk went through, then the client died before completing.
        lines = [asset_record(json.loads(line)) for line in source.read_text().splitlines()[:3]]
        assert (
            sink.send(Chunk(1, lines=lines), "resume-1", defer=False, seller=None)["accepted"] == 3
        )
    finally:
        sink.close()
    drain_pipeline(platform)
    code, out = _cli(
        "--url", url, "--key", token, "import", str(source), "--import-id", "resume-1", "--no-wait"
    )
    assert code == 0, out
    assert "imported 6 of 6 records" in out
    assert _assets(platform) == 6


def test_back_pressure_is_waited_out(
    served: tuple[str, str], platform: Platform, tmp_path: Path
) -> None:
    url, token = served
    source = _jsonl(tmp_path / "busy.jsonl", 7)
    waits: list[float] = []
    notes: list[str] = []

    def sleep(seconds: float) -> None:
        # Instead of the clock: the pipeline catches up while the client waits.
        waits.append(seconds)
        drain_pipeline(platform)

    sink = RemoteSink(url, token, on_wait=notes.append, sleep=sleep)
    ui = BulkUi(
        total=lambda n: None,
        accepted=lambda n: None,
        processed=lambda d, o: None,
        note=notes.append,
    )
    options = BulkOptions("busy-1", chunk=3, defer=False, wait=True, poll_s=0)
    try:
        status, local = run_bulk(sink, source, options, ui, sleep=sleep)
    finally:
        sink.close()
    assert (status["accepted"], status["processed"], status["status"]) == (7, 7, "succeeded")
    assert not local
    assert 2.0 in waits  # Retry-After: 1 s (+1 rounding up) from import_retry_after_s
    assert any("server busy" in n for n in notes)
    assert _assets(platform) == 7


def test_defer_models_returns_before_processing(
    served: tuple[str, str], platform: Platform, tmp_path: Path
) -> None:
    url, token = served
    rows = [{"title": f"Gem {i}", "seller_id": "s1", "price": 1.5} for i in range(5)]
    source = tmp_path / "gems.parquet"
    pq.write_table(pa.Table.from_pylist(rows), source, row_group_size=2)
    code, out = _cli("--url", url, "--key", token, "import", str(source), "--defer-models")
    assert code == 0, out
    assert "imported 5 of 5 records from gems.parquet" in out
    assert "the pipeline runs in the background" in out
    assert platform.bus.depth(Topics.ASSET_UPLOADED, PIPELINE_GROUP) == 5
    assert drain_pipeline(platform) == 5


def test_image_folder_into_the_local_data_folder(platform: Platform, tmp_path: Path) -> None:
    folder = tmp_path / "sprites"
    folder.mkdir()
    (folder / "tank.png").write_bytes(tiny_png())
    (folder / "coin.png").write_bytes(tiny_png())
    (folder / "notes.txt").write_text("not an image")
    (folder / "metadata.csv").write_text("file,title,tags\ntank.png,Desert tank,tank;2d\n")
    data_dir = str(platform.settings.data_dir)
    code, out = _cli("--data-dir", data_dir, "import", str(folder), "--seller", "s1")
    assert code == 0, out
    assert "imported 2 of 2 records from sprites as assets" in out
    assert "agora serve" in out  # no pipeline in this process
    titles = {a["title"]: a for a in _listed(platform)}
    assert titles["Desert tank"]["tags"] == ["tank", "2d"]
    assert titles["coin"]["images"][0]["media_type"] == "image/png"
    assert _assets(platform) == 2
    (folder / "metadata.csv").write_text("title\nno file column\n")
    code, out = _cli("--data-dir", data_dir, "import", str(folder), "--import-id", "other")
    assert code == 2 and "side file" in out


def test_sdk_resumable_import(served: tuple[str, str], platform: Platform) -> None:
    from agora.client import Client

    url, token = served
    lines = [{"title": "Ruby", "seller_id": "s1"}, {"title": "Ghost", "seller_id": "nobody"}]
    with Client(url, token) as agora:
        first = agora.assets.import_lines(lines, import_id="sdk-1", first_line=10)
        assert (first.accepted, first.rejected, first.import_id) == (1, 1, "sdk-1")
        again = agora.assets.import_lines(lines, import_id="sdk-1", first_line=10, complete=True)
        assert (again.accepted, again.skipped) == (0, 1)
        status = agora.assets.import_status("sdk-1")
        assert (status.accepted, status.rejected, status.complete) == (1, 1, True)
        assert [r.line for r in status.rejections] == [11]
