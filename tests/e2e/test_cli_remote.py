"""The CLI's read commands against a running server (``--url`` / ``AGORA_URL``)
print what the local commands print for the same data."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from agora.api.app import create_app
from agora.cli.main import app
from agora.client import Client
from agora.runtime import Platform
from agora.testing.api import drain_pipeline
from agora.testing.net import LiveServer
from agora.testing.samples import tiny_png

# A live uvicorn server in a thread and CLI calls against it: rerun under CPU load in CI.
pytestmark = pytest.mark.process


@pytest.fixture
def served(platform: Platform, tokens: dict[str, str]) -> Iterator[tuple[str, str]]:
    with LiveServer(create_app(platform, start_background=False)) as url:
        with Client(url, tokens["admin"]) as agora:
            agora.sellers.put("s1", name="Iron Tread")
            created = agora.assets.create(
                {"title": "Desert tank", "seller_id": "s1", "tags": ["tank"]},
                images=[("tank.png", tiny_png())],
            )
        assert drain_pipeline(platform) == 1
        yield url, created.id


def _run(*args: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(app, list(args), env=env or {})
    assert result.exit_code == 0, result.output
    return result.output


def test_read_commands_work_against_a_server(
    served: tuple[str, str], platform: Platform, tokens: dict[str, str]
) -> None:
    url, asset_id = served
    remote = ["--url", url, "--key", tokens["admin"]]
    found = json.loads(_run(*remote, "search", "tank", "--mode", "keyword"))
    assert [h["id"] for h in found["hits"]] == [asset_id]
    local = json.loads(
        _run("--data-dir", str(platform.settings.data_dir), "search", "tank", "--mode", "keyword")
    )
    assert [h["id"] for h in local["hits"]] == [asset_id]
    assert set(local) == set(found)

    recs = json.loads(_run(*remote, "recommend", "show", "u-1", "-n", "3"))
    assert recs["user_id"] == "u-1"
    queue = json.loads(_run(*remote, "moderation", "queue", "--limit", "5"))
    assert queue["limit"] == 5
    assert "models" not in _run(*remote, "models", "list")  # none registered yet: no rows
    tagged = _run(*remote, "tagging", "tag", asset_id)
    assert "quality" in tagged
    # The environment works like the flags.
    env = {"AGORA_URL": url, "AGORA_KEY": tokens["read"]}
    assert json.loads(_run("search", "tank", env=env))["hits"][0]["id"] == asset_id


def test_remote_errors_exit_cleanly(served: tuple[str, str], tokens: dict[str, str]) -> None:
    url, _ = served
    result = CliRunner().invoke(app, ["--url", url, "--key", tokens["read"], "moderation", "queue"])
    assert result.exit_code == 1 and "403" in result.output
    result = CliRunner().invoke(app, ["--url", "http://127.0.0.1:9", "search", "tank"])
    assert result.exit_code == 1 and "cannot reach" in result.output


def test_keys_commands_use_the_keys_api(
    served: tuple[str, str], platform: Platform, tokens: dict[str, str]
) -> None:
    url, _ = served
    remote = ["--url", url, "--key", tokens["admin"]]
    made = _run(*remote, "keys", "create", "-s", "read", "--name", "remote-made", "--quota", "50")
    token = made.strip().splitlines()[-1].split()[-1]
    key_id = platform.keys.authenticate(token).key_id
    # Made by the server, so audited with the calling key (not the OS user).
    entries = platform.audit.query(action="api_key.created", subject_id=key_id).entries
    assert [e.actor for e in entries] == [f"key:{tokens['admin'].split('_')[1]}"]
    listed = _run(*remote, "keys", "list")
    assert key_id in listed and "remote-made" in listed and "50/day" in listed
    assert _run(*remote, "keys", "revoke", key_id).strip() == f"revoked API key {key_id}"
    assert key_id not in _run(*remote, "keys", "list", "--active")
    own = tokens["admin"].split("_")[1]
    refused = CliRunner().invoke(app, [*remote, "keys", "revoke", own])
    assert refused.exit_code == 1 and "last active admin key" in refused.output
    denied = CliRunner().invoke(app, ["--url", url, "--key", tokens["read"], "keys", "list"])
    assert denied.exit_code == 1 and "403" in denied.output
