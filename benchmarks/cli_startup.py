"""First-run figures (issue 18): CLI start-up, the ``make run`` install, demo readiness.

- ``help.p50_s``: wall time of ``agora --help`` (goal < 1.0 s);
  ``import_agora.p50_s`` / ``import_cli.p50_s``: ``python -c "import agora"`` /
  ``import agora.cli.main``; ``python.p50_s``: a bare interpreter, the floor.
- ``venv.size_mb``: a virtualenv built in a temporary folder with exactly the
  commands of the Makefile's run stamp, measured like ``du`` and deleted (goal
  < 1,500 MB); the largest packages and whether torch got in are listed too.
  ``venv.size_after_demo_mb``: the same venv after the demo below ran with it
  (the bytecode Python wrote for the modules the platform imports).
- ``demo.ready_s``: seconds from ``agora demo`` on an empty data dir (then
  ``agora serve`` on a free port) until no asset is pending and every
  capability answers undegraded: analyze-text without ``degraded``, search
  without ``degraded``, recommendations without ``fallback``, ranked search
  without ``fallbacks`` (goal < 180 s on a quiet 2-core machine). When some
  condition never holds before the deadline, ``demo.all_conditions_held`` is
  false, ``demo.ready_s`` is the time the others held, and
  ``demo.conditions`` says which held and when.

The demo runs with the ``make run`` venv, or with this interpreter's venv
under ``--skip-venv``.

Run: ``python benchmarks/cli_startup.py [--quick] [--skip-venv] [--skip-demo]``.
Sections not run keep their figures from the previous results file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "cli_startup.json"
BIN = Path(sys.executable).parent
QUERY = "space shooter ship"
USER = "demo-user-001"


def p50_wall(argv: list[str], runs: int) -> float:
    """Median wall time of ``argv`` over ``runs`` runs (one unmeasured warm-up)."""
    times = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        if i:
            times.append(time.perf_counter() - t0)
    return round(statistics.median(times), 4)


def startup(runs: int) -> dict[str, Any]:
    py = sys.executable
    return {
        "help": {"p50_s": p50_wall([str(BIN / "agora"), "--help"], runs), "runs": runs},
        "import_agora": {"p50_s": p50_wall([py, "-c", "import agora"], runs)},
        "import_cli": {"p50_s": p50_wall([py, "-c", "import agora.cli.main"], runs)},
        "python": {"p50_s": p50_wall([py, "-c", "pass"], runs)},
    }


def du_mb(folder: Path) -> float:
    """Disk usage like ``du -s`` (allocated blocks, hard links once), in MB."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return round(total / 2**20, 1)


def run_venv(demo_deadline_s: float | None) -> dict[str, Any]:
    """Build the ``make run`` virtualenv in a temporary folder, measure it, delete it.

    With ``demo_deadline_s`` the demo readiness is measured with that venv (what
    ``make run`` runs), and the venv is measured again afterwards: imports
    write bytecode for the modules the platform uses.
    """
    tmp = Path(tempfile.mkdtemp(prefix="agora-runvenv-"))
    try:
        venv = tmp / "venv"
        t0 = time.perf_counter()
        for step in make_run_install(venv):
            subprocess.run(step, check=True, cwd=ROOT)
        seconds = time.perf_counter() - t0
        site = next((venv / "lib").glob("python3*/site-packages"))
        sizes = {p.name: du_mb(p) for p in site.iterdir() if p.is_dir()}
        out: dict[str, Any] = {
            "size_mb": du_mb(venv),
            "install_s": round(seconds, 1),
            "torch_installed": (site / "torch").exists(),
            "largest_mb": dict(sorted(sizes.items(), key=lambda kv: -kv[1])[:15]),
        }
        if demo_deadline_s is not None:
            out["demo"] = demo_ready(demo_deadline_s, venv / "bin")
            out["size_after_demo_mb"] = du_mb(venv)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def make_run_install(venv: Path) -> list[list[str]]:
    """The commands of the Makefile's run stamp, with the venv folder replaced."""
    text = (ROOT / "Makefile").read_text()
    block = text[text.index("$(RUN_STAMP): pyproject.toml") :].split("\n\n")[0]
    steps = []
    for line in block.splitlines()[1:]:
        line = line.strip()
        if line.startswith(("$(PY)", "$(BIN)/pip")):
            line = line.replace("$(PY)", "python3.11").replace("$(VENV)", str(venv))
            steps.append(line.replace("$(BIN)", str(venv / "bin")).split())
    if len(steps) < 2:
        raise RuntimeError(f"cannot read the run install from the Makefile: {block!r}")
    return steps


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def conditions(base: str, headers: dict[str, str]) -> dict[str, Callable[[], bool]]:
    """Each readiness condition as a check that returns whether it holds now."""

    def get(path: str, **params: Any) -> Any:
        r = httpx.get(base + path, headers=headers, params=params, timeout=60)
        return r.json() if r.status_code == 200 else None

    def analyzed() -> bool:
        text = {"text": "Pixel-art spaceship sprite sheet, 8 frames, free for commercial use."}
        r = httpx.post(f"{base}/api/v1/analyze-text", headers=headers, json=text, timeout=60)
        return r.status_code == 200 and r.json().get("degraded") is False

    def processed() -> bool:
        page = get("/api/v1/assets", status="pending", limit=1)
        return page is not None and page["items"] == []

    def searched() -> bool:
        res = get("/api/v1/search", q=QUERY)
        return res is not None and res.get("degraded") is False and bool(res.get("hits"))

    def recommended() -> bool:
        res = get(f"/api/v1/recommendations/{USER}")
        return res is not None and res.get("fallback") is False and bool(res.get("items"))

    def ranked() -> bool:
        res = get("/api/v1/search/ranked", q=QUERY, user_id=USER)
        return res is not None and res.get("fallbacks") == [] and bool(res.get("items"))

    return {
        "assets_processed": processed,
        "analyze_text_undegraded": analyzed,
        "search_undegraded": searched,
        "recommendations_personal": recommended,
        "ranked_search_undegraded": ranked,
    }


def demo_ready(deadline_s: float, bin_dir: Path = BIN) -> dict[str, Any]:
    """Time from ``agora demo`` on an empty data dir until every condition holds."""
    tmp = Path(tempfile.mkdtemp(prefix="agora-demo-ready-"))
    env = os.environ | {"AGORA_DATA_DIR": str(tmp / "data"), "AGORA_SERVER__LOG_JSON": "false"}
    # As on a user's machine: imports write bytecode (the venv's size after the demo counts it).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = None
    log = (tmp / "serve.log").open("wb")
    try:
        t0 = time.perf_counter()
        agora = str(bin_dir / "agora")
        demo = [agora, "demo", "--if-empty"]
        subprocess.run(demo, env=env, check=True, stdout=subprocess.DEVNULL)
        demo_s = time.perf_counter() - t0
        serve = [agora, "serve", "--port", str(port)]
        server = subprocess.Popen(serve, env=env, stdout=log, stderr=subprocess.STDOUT)
        token = (tmp / "data" / "demo-admin-key.txt").read_text().strip()
        checks = conditions(base, {"Authorization": f"Bearer {token}"})
        first: dict[str, float] = {}
        served_s = all_s = None
        while time.perf_counter() - t0 < deadline_s and server.poll() is None:
            try:
                if served_s is None and httpx.get(f"{base}/readyz", timeout=10).is_success:
                    served_s = time.perf_counter() - t0
                if served_s is not None:
                    now = {name: check() for name, check in checks.items()}
                    at = time.perf_counter() - t0
                    for name in (n for n, ok in now.items() if ok and n not in first):
                        first[name] = at
                    if all(now.values()):
                        all_s = at
                        break
            except httpx.HTTPError:
                pass  # not listening yet, or a request timed out under load: poll again
            time.sleep(1.0)  # polling interval
        held = {name: name in first for name in checks}
        return {
            "ready_s": round(all_s if all_s is not None else max(first.values(), default=0), 1),
            "all_conditions_held": all_s is not None,
            "conditions": {
                n: {"held": held[n], "first_s": round(first.get(n, -1), 1)} for n in checks
            },
            "demo_command_s": round(demo_s, 1),
            "serving_s": round(served_s, 1) if served_s is not None else None,
            "deadline_s": deadline_s,
            "server_exit_code": server.poll(),
        }
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer start-up runs")
    ap.add_argument("--skip-venv", action="store_true", help="keep the previous venv figures")
    ap.add_argument("--skip-demo", action="store_true", help="keep the previous demo figures")
    ap.add_argument("--deadline", type=float, default=900.0, help="demo readiness deadline (s)")
    args = ap.parse_args()
    out: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    load_before = os.getloadavg()[0]
    out |= startup(3 if args.quick else 9)
    print(json.dumps({k: out[k] for k in ("help", "import_agora", "import_cli", "python")}))
    deadline = None if args.skip_demo else args.deadline
    if not args.skip_venv:
        out["venv"] = run_venv(deadline)
        if "demo" in out["venv"]:
            out["demo"] = out["venv"].pop("demo") | {"venv": "make run install"}
        print(json.dumps({"venv": out["venv"]}))
    elif deadline is not None:
        out["demo"] = demo_ready(deadline) | {"venv": sys.prefix}
    if deadline is not None:
        print(json.dumps({"demo": out["demo"]}))
    out["machine"] = {
        "cpus": os.cpu_count(),
        "load_1min_at_start": round(load_before, 2),
        "load_1min_at_end": round(os.getloadavg()[0], 2),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
