"""Malware scan: detection of the ClamAV test files, false positives on benign files, MB/s.

Engines as the ``scan`` step builds them (``agora.quality.scan.build_engines``):
Debian's ``clamscan`` with Agora's shipped database only (the official
databases need freshclam, which cannot reach the internet here; their absence
is recorded) and yara-python with the shipped rules (GuardDog's source-code
rules and Agora's).

* Detection: EICAR and every sample of Debian's ``clamav-testfiles``
  (``/usr/share/clamav-testfiles``), each as shipped and re-wrapped inside a
  zip, a tar.gz and a 7z. Agora's database holds signatures of the *bare*
  test payloads, never hashes of the container files, so the samples that wrap
  a payload (zip, 7z, UPX, PDF, OLE, mail, ...) are detected only if ClamAV
  unpacks them: ``testfiles.detection_rate``, with per-sample misses listed.
* False positives: every file of the shared Kenney and arcade assets and the
  Python packages' own files in the virtualenv (``--quick``: a sample). A
  false positive is a file the step would block or hold: a ClamAV match or a
  YARA match at or above ``scan.yara_hold_severity``; lower-severity YARA
  findings (which only feed the risk score) are counted apart.
* Throughput: bytes of the benign set over the wall time of both engines
  (``mb_per_s``), with the machine's load average (a shared machine: loaded).

Run: ``.venv/bin/python benchmarks/scan.py [--quick]``
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path

from agora.config import Settings
from agora.quality.scan import (
    ClamscanEngine,
    Engine,
    Payload,
    YaraEngine,
    build_engines,
    shipped_databases,
)
from agora.quality.scan.base import severity_rank

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
TESTFILES = Path("/usr/share/clamav-testfiles")
OUT = ROOT / "benchmarks" / "results" / "scan.json"
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-" + b"STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
NO_UNPACKING = [
    f"--scan-{kind}=no"
    for kind in (
        "archive",
        "pe",
        "ole2",
        "pdf",
        "mail",
        "html",
        "elf",
        "swf",
        "xmldocs",
        "hwp3",
        "onenote",
    )
]
BENIGN_SUFFIXES = {
    ".py",
    ".pyi",
    ".js",
    ".json",
    ".txt",
    ".md",
    ".cfg",
    ".toml",
    ".yaml",
    ".html",
    ".css",
    ".csv",
    ".pem",
    ".typed",
    ".c",
    ".h",
    ".so",
    ".pyd",
}


def _zip(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, data)
    return buf.getvalue()


def _tar_gz(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _7z(name: str, data: bytes) -> bytes:
    import py7zr

    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w") as z:
        z.writestr(data, name)
    return buf.getvalue()


def infected_set() -> list[tuple[str, Payload]]:
    """EICAR and every test file, bare and wrapped in zip, tar.gz and 7z."""
    bare = [("eicar.com", EICAR)]
    bare += [(p.name, p.read_bytes()) for p in sorted(TESTFILES.iterdir()) if p.is_file()]
    out: list[tuple[str, Payload]] = []
    for name, data in bare:
        out.append(("bare", Payload(name, data=data)))
        out.append(("zip", Payload(f"{name}.zip", data=_zip(name, data))))
        out.append(("tar.gz", Payload(f"{name}.tar.gz", data=_tar_gz(name, data))))
        out.append(("7z", Payload(f"{name}.7z", data=_7z(name, data))))
    return out


def benign_files(quick: bool) -> list[Path]:
    """Every shared Kenney/arcade asset file, and the venv's package files."""
    assets = [
        p
        for folder in ("arcade-kenney-sprites", "kenney-city-builder-glb")
        for p in sorted((DATA / folder).rglob("*"))
        if p.is_file()
    ]
    site = Path(sys.prefix) / "lib"
    packages = sorted(
        p
        for p in site.rglob("site-packages/**/*")
        if p.is_file() and p.suffix in BENIGN_SUFFIXES and p.stat().st_size <= 4 * 1024 * 1024
    )
    # An even spread over the packages (deterministic): every k-th file.
    cap = 500 if quick else 5_000
    step = max(1, len(packages) // cap)
    return (assets[:100] if quick else assets) + packages[::step][:cap]


def scan_all(engine: Engine, payloads: list[Payload], batch: int = 500) -> list[list]:
    out: list[list] = []
    for start in range(0, len(payloads), batch):
        out += engine.scan(payloads[start : start + batch])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a sample of the benign files")
    args = parser.parse_args()
    if not TESTFILES.is_dir() or shutil.which("clamscan") is None:
        raise SystemExit("needs Debian's clamav and clamav-testfiles (see .ci/run)")
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="agora-scan-bench-")))
    clamav, yara = build_engines(settings)
    absent = {e.name: e.available() for e in (clamav, yara) if e.available()}
    if "clamav" in absent:
        raise SystemExit(f"ClamAV unavailable: {absent['clamav']}")
    hold = settings.scan.yara_hold_severity

    wraps, infected = zip(*infected_set(), strict=True)
    infected = list(infected)
    hits_clam = scan_all(clamav, infected)
    hits_yara = scan_all(yara, infected) if isinstance(yara, YaraEngine) and not absent else []
    detected = [
        any(d.severity == "critical" for d in c + (hits_yara[i] if hits_yara else []))
        for i, c in enumerate(hits_clam)
    ]
    # Not clean: detected, or ClamAV said it stopped short (a limit): held, never clean.
    not_clean = [
        ok or any(d.signature == "Agora.ScanError" for d in c)
        for ok, c in zip(detected, hits_clam, strict=True)
    ]
    # The same databases with ClamAV's unpackers and parsers off: what a lookup alone finds.
    raw = ClamscanEngine(databases=shipped_databases(), options=NO_UNPACKING)
    raw_hits = [any(d.severity == "critical" for d in c) for c in scan_all(raw, infected)]
    missed = [p.name for p, ok in zip(infected, detected, strict=True) if not ok]
    by_wrap = Counter()
    totals = Counter()
    for wrap, ok in zip(wraps, detected, strict=True):
        totals[wrap] += 1
        by_wrap[wrap] += int(ok)

    files = benign_files(args.quick)
    payloads = [Payload(str(p.relative_to(p.anchor)), path=str(p)) for p in files]
    size = sum(p.stat().st_size for p in files)
    t0 = time.perf_counter()
    clean_clam = scan_all(clamav, payloads)
    clean_yara = scan_all(yara, payloads) if not absent else [[] for _ in payloads]
    seconds = time.perf_counter() - t0
    false_pos, low = [], Counter()
    for p, c, y in zip(payloads, clean_clam, clean_yara, strict=True):
        hits = [d for d in c + y if d.signature != "Agora.ScanError"]
        holding = [
            d
            for d in hits
            if d.severity == "critical"
            or (hold != "none" and severity_rank(d.severity) >= severity_rank(hold))
        ]
        if holding:
            blocked = any(d.severity == "critical" for d in holding)
            hits_of = sorted({d.signature for d in holding})
            false_pos.append({"file": p.name, "hits": hits_of, "blocked": blocked})
        for d in hits:
            if d not in holding:
                low[d.signature] += 1

    results = {
        "testfiles.detection_rate": round(sum(detected) / len(detected), 4),
        "testfiles.not_clean_rate": round(sum(not_clean) / len(not_clean), 4),
        "testfiles.detection_rate_without_unpacking": round(sum(raw_hits) / len(raw_hits), 4),
        "testfiles.samples": len(detected),
        "testfiles.bare_samples": totals["bare"],
        **{f"testfiles.detection_rate.{k}": round(by_wrap[k] / totals[k], 4) for k in totals},
        "testfiles.missed": missed,
        "clean.false_positives": len(false_pos),
        # Blocked (a ClamAV or critical match) vs held for review (a YARA rule).
        "clean.false_positives.blocked": sum(f["blocked"] for f in false_pos),
        "clean.files": len(payloads),
        "clean.bytes": size,
        "clean.false_positive_files": false_pos[:50],
        "clean.low_severity_findings": dict(low.most_common(20)),
        "mb_per_s": round(size / 1e6 / seconds, 2),
        "engines": {"clamav": clamav.describe(), "yara": yara.describe()},
        "absent": absent,
        "official_databases": "absent (freshclam cannot reach the internet here)",
        "quick": args.quick,
        "loadavg": os.getloadavg()[0],
    }
    print(f"{'figure':36} value")
    for key in (
        "testfiles.detection_rate",
        "testfiles.samples",
        "clean.false_positives",
        "clean.files",
        "mb_per_s",
        "loadavg",
    ):
        print(f"{key:36} {results[key]}")
    for key, value in results.items():
        if key.startswith("testfiles.detection_rate."):
            print(f"{key:36} {value}")
    if missed:
        print("missed:", ", ".join(missed[:40]))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
