"""Code review without Semgrep: the GDScript rules, script extraction from
uploads, snippet parsing and the rule-id split, the verdict model's cuts."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from agora.codereview.base import ScriptFile
from agora.codereview.datasets import Sample, _snippets, split_by_rule
from agora.codereview.extract import scripts_in
from agora.codereview.gdscript import GDScriptAnalyser
from agora.codereview.model import VerdictModel
from agora.config import UploadSettings
from agora.errors import AgoraError

CORPUS = Path(__file__).resolve().parents[1] / "data" / "code_review" / "corpus"


def _gd(name: str) -> list[tuple[str, str]]:
    text = (CORPUS / "gdscript" / name).read_text()
    found = GDScriptAnalyser().analyse([ScriptFile(name, "gdscript", text)])[0]
    return [(f.rule_id, f.severity) for f in found]


@pytest.mark.parametrize(
    ("name", "rule", "severity"),
    [
        ("mal_os_execute.gd", "gd-os-execute", "critical"),
        ("mal_shell_open_exe.gd", "gd-shell-open-risky", "high"),
        ("mal_download_pck_exec.gd", "gd-download-and-load", "critical"),
        ("mal_startup_folder.gd", "gd-file-outside-project", "high"),
        ("mal_ssh_key_exfil.gd", "gd-file-outside-project", "high"),
        ("mal_remote_script.gd", "gd-download-and-load", "critical"),
    ],
)
def test_gdscript_rules_fire_on_malicious_patterns(name: str, rule: str, severity: str) -> None:
    assert (rule, severity) in _gd(name)


@pytest.mark.parametrize(
    "name",
    [
        "ok_save_system.gd",
        "ok_leaderboard.gd",
        "ok_rate_button.gd",
        "ok_mod_loader.gd",
        "ok_settings.gd",
        "ok_screenshot.gd",
        "ok_level_loader.gd",
    ],
)
def test_gdscript_rules_stay_low_on_game_code(name: str) -> None:
    assert all(sev in ("info", "low") for _, sev in _gd(name)), _gd(name)


def test_findings_carry_lines_and_fix_hints() -> None:
    text = "extends Node\n\nfunc _ready():\n\tOS.execute('ls', [])\n"
    (f,) = GDScriptAnalyser().analyse([ScriptFile("a.gd", "gdscript", text)])[0]
    assert (f.line_start, f.line_end, f.file, f.language) == (4, 4, "a.gd", "gdscript")
    assert f.fix and f.message and f.category == "process"


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_scripts_are_found_in_archives_nested_archives_and_scenes() -> None:
    scene = (
        b'[gd_scene format=3]\n[sub_resource type="GDScript" id="1"]\n'
        b'script/source = "extends Node\\nfunc _ready():\\n\\tOS.execute(\\"sh\\", [])\\n"\n'
    )
    inner = _zip({"lib/helper.lua": b"print('hi')\n"})
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w:gz") as tf:
        data = b"console.log(1)\n"
        info = tarfile.TarInfo("web/main.js")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    upload = _zip(
        {
            "Scripts/Player.cs": b"class Player {}\n",
            "level.tscn": scene,
            "page.html": b"<html><script>eval(x)</script></html>",
            "deps.zip": inner,
            "web.tar.gz": tar.getvalue(),
            "icon.png": b"\x89PNG\r\n\x1a\n",
        }
    )
    scripts, skipped = scripts_in("plugin.zip", upload, UploadSettings())
    by_name = {s.name: s for s in scripts}
    assert set(by_name) == {
        "plugin.zip!Scripts/Player.cs",
        "plugin.zip!level.tscn#script0",
        "plugin.zip!page.html#script0",
        "plugin.zip!deps.zip!lib/helper.lua",
        "plugin.zip!web.tar.gz!web/main.js",
    }
    assert 'OS.execute("sh", [])' in by_name["plugin.zip!level.tscn#script0"].text
    assert by_name["plugin.zip!level.tscn#script0"].language == "gdscript"
    assert skipped == []


def test_a_path_traversal_archive_is_refused_before_reading() -> None:
    with pytest.raises(AgoraError):
        scripts_in("evil.zip", _zip({"../../etc/x.py": b"x=1"}), UploadSettings())


def test_snippet_markers_split_samples(tmp_path: Path) -> None:
    path = tmp_path / "code-execution.py"
    path.write_text(
        '"""doc"""\n# ok: code-execution\nexec(open("v.py").read())\n\n'
        "# ruleid: code-execution\nos.system('curl x | sh')\n"
        "def f():\n    # ruleid: exec-base64\n    exec(b64decode(x))\n"
    )
    samples = list(_snippets(path, "python"))
    assert [(s.label, s.group) for s in samples] == [
        (0, "code-execution"),
        (1, "code-execution"),
        (1, "exec-base64"),
    ]
    assert samples[2].script.text == "exec(b64decode(x))\n"  # dedented


def test_split_by_rule_keeps_each_rule_and_package_in_one_fold() -> None:
    samples = []
    for r in range(12):
        for k in range(1 + r % 4):
            samples.append(Sample(ScriptFile(f"r{r}-{k}", "python", "x"), k % 2, f"rule{r}", "x"))
    for p in range(15):
        for k in range(3 + p):
            samples.append(
                Sample(ScriptFile(f"p{p}-{k}", "python", "x"), 0, f"py:p{p}", "real-python")
            )
    folds = split_by_rule(samples, folds=5)
    fold_of: dict[str, set[int]] = {}
    for s, f in zip(samples, folds, strict=True):
        fold_of.setdefault(s.group, set()).add(f)
    assert all(len(v) == 1 for v in fold_of.values())
    real = [
        sum(1 for s, f in zip(samples, folds, strict=True) if f == k and s.source == "real-python")
        for k in range(5)
    ]
    assert min(real) >= 0.6 * max(real)  # balanced folds of real code


def test_verdict_model_cuts_hold_the_benign_false_positive_rate(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n_features = len(VerdictModel().features)
    benign = rng.normal(0, 1, (400, n_features))
    malicious = rng.normal(1.5, 1, (200, n_features))
    x = np.vstack([benign, malicious])
    y = np.array([0] * 400 + [1] * 200)
    groups = np.arange(len(y)) % 8
    model = VerdictModel(n_estimators=50).fit(x, y, groups)
    assert 0 < model.suspicious_cut_ <= model.malicious_cut_ < 1
    fresh = rng.normal(0, 1, (400, n_features))
    fpr = float(np.mean(model.predict_proba(fresh) >= model.malicious_cut_))
    assert fpr <= 0.05
    path = model.save(tmp_path / "m.json", {"auc": 0.9})
    loaded = VerdictModel.load(path)
    assert np.allclose(loaded.predict_proba(fresh[:5]), model.predict_proba(fresh[:5]))
    assert json.loads(path.read_text())["metrics"] == {"auc": 0.9}
    assert loaded.verdict(0.999) == "malicious" and loaded.verdict(0.0) == "clean"


def test_an_upload_without_scripts_reviews_nothing() -> None:
    from agora.codereview.review import CodeReviewer

    review = CodeReviewer([GDScriptAnalyser()], None).review_upload("notes.txt", b"hello")
    assert (review.verdict, review.files, review.model) == ("clean", [], "rules-only")
