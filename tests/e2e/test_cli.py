"""The ``agora`` CLI end to end on an embedded data dir: keys, import, demo."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from agora.cli.main import app
from agora.config import Settings
from agora.demo.catalog import SPRITES_DIR, build_demo_catalog
from agora.runtime import Platform
from agora.storage.tables import InteractionRow
from agora.testing.net import free_port
from agora.testing.processes import running, tail
from agora.testing.wait import PROCESS_START_S, wait_until


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"AGORA_DATA_DIR": str(tmp_path / "data")}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_keys_create_prints_token_last_and_it_authenticates(
    runner: CliRunner, env: dict[str, str]
) -> None:
    result = runner.invoke(
        app,
        [
            "keys",
            "create",
            "--scope",
            "read",
            "--scope",
            "write",
            "--name",
            "shop",
            "--rate-limit",
            "120",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1].split()[-1]
    platform = Platform.build(Settings.load(data_dir=Path(env["AGORA_DATA_DIR"])))
    try:
        principal = platform.keys.authenticate(token)
        assert principal.scopes == frozenset({"read", "write"})
        assert principal.rate_limit_per_minute == 120
    finally:
        platform.close()
    listed = runner.invoke(app, ["keys", "list"], env=env)
    assert principal.key_id in listed.output and "shop" in listed.output
    revoked = runner.invoke(app, ["keys", "revoke", principal.key_id], env=env)
    assert revoked.exit_code == 0
    missing = runner.invoke(app, ["keys", "revoke", "nope"], env=env)
    assert missing.exit_code == 1 and "not found" in missing.output


def test_keys_create_rejects_unknown_scope(runner: CliRunner, env: dict[str, str]) -> None:
    result = runner.invoke(app, ["keys", "create", "--scope", "root"], env=env)
    assert result.exit_code == 2
    assert "root" in result.output


def test_import_reports_bad_lines_and_imports_the_rest(
    runner: CliRunner, env: dict[str, str], tmp_path: Path
) -> None:
    sellers = tmp_path / "sellers.csv"
    sellers.write_text(
        "id,name,trust_score,verified\ns1,Pixel Forge,0.9,true\ns2,Bad Trust,7,false\n"
    )
    result = runner.invoke(app, ["import", str(sellers)], env=env)
    assert result.exit_code == 1
    assert "line 3:" in result.output and "trust_score" in result.output
    assert "imported 1 of 2 records from sellers.csv as sellers (1 failed)" in result.output

    shutil.copy(SPRITES_DIR / "items" / "gemBlue.png", tmp_path / "gem.png")
    lines = [
        json.dumps(
            {
                "id": "gem",
                "title": "Blue gem",
                "seller_id": "s1",
                "price": "0.99",
                "category": "items",
                "images": ["gem.png"],
            }
        ),
        '{"title": "broken json",',
        "",
        json.dumps({"description": "no title", "seller_id": "s1"}),
        json.dumps({"id": "coin", "title": "Gold coin", "seller_id": "s1", "tags": ["coin"]}),
        json.dumps({"title": "Missing image", "seller_id": "s1", "images": ["nope.png"]}),
    ]
    assets = tmp_path / "assets.jsonl"
    assets.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["import", str(assets), "--kind", "assets"], env=env)
    assert result.exit_code == 1, result.output
    assert "line 2: invalid JSON" in result.output
    assert "line 4:" in result.output and "title" in result.output
    assert "line 6: file not found" in result.output
    assert "imported 2 of 5 records" in result.output

    events = tmp_path / "events.csv"
    events.write_text(
        "user_id,asset_id,type,ts,value\n"
        "u1,gem,click,2024-05-01T10:00:00Z,\n"
        "u1,ghost,click,2024-05-01T10:01:00Z,\n"
        "u2,coin,purchase,2024-05-01T10:02:00Z,0.99\n"
    )
    result = runner.invoke(app, ["import", str(events)], env=env)
    assert "line 3: unknown asset id 'ghost'" in result.output
    assert "imported 2 of 3 records from events.csv as events (1 failed)" in result.output

    platform = Platform.build(Settings.load(data_dir=Path(env["AGORA_DATA_DIR"])))
    try:
        gem = platform.assets.get("gem")
        assert gem["images"][0]["media_type"] == "image/png"
        assert platform.assets.get("coin")["tags"] == ["coin"]
        assert sum(platform.assets.count_by_status().values()) == 2
    finally:
        platform.close()


def test_demo_loads_once_with_if_empty(runner: CliRunner, env: dict[str, str]) -> None:
    # --no-train: load only (the full demo, processing and training, is tests/e2e/test_demo.py).
    args = ["demo", "--if-empty", "--sessions", "60", "--users", "30", "--no-train"]
    first = runner.invoke(app, args, env=env)
    assert first.exit_code == 0, first.output
    assert "SIMULATED" in first.output and "(u-1 .. u-30)" in first.output
    assert "processed by the pipeline when a worker runs" in first.output
    token = first.output.strip().splitlines()[-1].split()[-1]
    key_file = Path(env["AGORA_DATA_DIR"]) / "demo-admin-key.txt"
    assert key_file.read_text().strip() == token

    second = runner.invoke(app, ["demo", "--if-empty"], env=env)
    assert second.exit_code == 0, second.output
    assert "demo not loaded" in second.output

    platform = Platform.build(Settings.load(data_dir=Path(env["AGORA_DATA_DIR"])))
    try:
        assert platform.keys.authenticate(token).has("admin")
        counts = platform.assets.count_by_status()
        assert sum(counts.values()) == len(build_demo_catalog().assets)
        assert len([k for k in platform.keys.list() if k["name"] == "demo-admin"]) == 1
        with platform.db.session() as s:
            recorded = s.scalar(select(func.count()).select_from(InteractionRow))
        assert recorded and recorded >= 60  # at least one impression per session
        assert counts == {"pending": len(build_demo_catalog().assets)}
    finally:
        platform.close()


@pytest.mark.slow
@pytest.mark.process
def test_serve_answers_on_host_and_port(env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    argv = [sys.executable, "-m", "agora.cli.main", "serve", "--host", "127.0.0.1",
            "--port", str(port)]  # fmt: skip
    with running(argv, env=os.environ | env, log=log) as proc:
        wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200,
            timeout_s=PROCESS_START_S,
            what="the server to answer",
            interval_s=0.3,
            alive=lambda: None if proc.poll() is None else f"serve exited:\n{tail(log)}",
            ignore=(httpx.TransportError,),
        )
        r = httpx.get(f"http://127.0.0.1:{port}/", timeout=30)
        assert r.status_code == 200 and "Agora" in r.text
        assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=30).status_code == 200
        proc.send_signal(signal.SIGINT)  # a graceful stop exits 0
        assert proc.wait(timeout=PROCESS_START_S) == 0, tail(log)
