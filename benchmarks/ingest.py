"""Ingest throughput: events/s through the event bus alone, and through the API.

Bus part: batches of 1,000 ``interaction.recorded`` events with the payload
shape the API publishes (event_id, user_id, asset_id, type, ts, session_id),
published with ``publish_many`` into the embedded SQLite outbox and into Redis
Streams; then consumed by one consumer (``consume`` max 1,000 + ``ack_many``
per batch, as ``agora.bus.consumer.Consumer`` does).

API part: ``agora serve`` as a subprocess on a free port with a temporary
data dir; an API key from ``agora keys create``; one seller and a few assets
through the API; then ``POST /api/v1/events`` batches from concurrent clients.

Run: ``.venv/bin/python benchmarks/ingest.py [--quick] [--no-api]``; writes
``benchmarks/results/ingest.json``. Goals: >= 20,000 events/s embedded bus,
>= 10,000 events/s Redis Streams.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError

from agora.bus import EmbeddedBus, Event, EventBus, RedisStreamsBus, Topics, new_event_id
from agora.config import BusSettings

RESULTS = Path(__file__).parent / "results" / "ingest.json"
REDIS_URL = "redis://127.0.0.1:6379/0"
BATCH = 1000
TYPES = ["impression", "view", "click", "favorite", "add_to_cart", "purchase"]


def interaction_payloads(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Realistic interaction events: skewed users and assets, sessions, ISO timestamps."""
    rng = random.Random(seed)
    now = time.time()
    out = []
    for i in range(n):
        user = int(rng.paretovariate(1.2)) % 50_000
        out.append(
            {
                "event_id": new_event_id(),
                "user_id": f"u{user}",
                "asset_id": f"a{int(rng.paretovariate(1.1)) % 20_000}",
                "type": rng.choices(TYPES, weights=[60, 20, 12, 4, 3, 1])[0],
                "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - (n - i) * 0.01)) + "Z",
                "session_id": f"s{user}-{i // 40}",
            }
        )
    return out


def bus_throughput(bus: EventBus, payloads: list[dict[str, Any]]) -> dict[str, float]:
    """Publish in batches of 1,000, then consume + ack everything; events/s for each."""
    topic = f"{Topics.INTERACTION_RECORDED}"
    events = [Event(topic, p, id=p["event_id"], key=p["user_id"]) for p in payloads]
    started = time.perf_counter()
    for i in range(0, len(events), BATCH):
        bus.publish_many(events[i : i + BATCH])
    publish_s = time.perf_counter() - started
    group = f"bench-{uuid.uuid4().hex[:6]}"
    consumed = 0
    started = time.perf_counter()
    while consumed < len(events):
        batch = bus.consume(topic, group, "c1", max_count=BATCH, block_ms=1000)
        if not batch:
            raise RuntimeError(f"consumer stalled at {consumed}/{len(events)}")
        bus.ack_many(batch)
        consumed += len(batch)
    consume_s = time.perf_counter() - started
    assert bus.depth(topic, group) == 0
    return {"publish": len(events) / publish_s, "consume": consumed / consume_s}


def bench_bus_embedded(payloads: list[dict[str, Any]]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        bus = EmbeddedBus(f"memory://?path={tmp}/bus.db", settings=BusSettings())
        try:
            return bus_throughput(bus, payloads)
        finally:
            bus.close()


def bench_bus_redis(payloads: list[dict[str, Any]]) -> dict[str, float] | None:
    prefix = f"agora-bench-{uuid.uuid4().hex[:8]}"
    bus = RedisStreamsBus(f"{REDIS_URL}?prefix={prefix}", settings=BusSettings())
    try:
        bus.ping()
    except (RedisError, OSError) as exc:  # a missing server is reported, not fatal
        print(f"redis: skipped ({exc})")
        return None
    try:
        return bus_throughput(bus, payloads)
    finally:
        for key in bus.client.scan_iter(f"{prefix}*"):
            bus.client.delete(key)
        bus.close()


# -- API part ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _agora(data_dir: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agora.cli.main", "--data-dir", data_dir, *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "AGORA_DATA_DIR": data_dir},
    )


def bench_api_events_embedded(payloads: list[dict[str, Any]], clients: int = 4) -> float:
    """events/s through ``POST /api/v1/events`` against ``agora serve`` (embedded backends)."""
    import httpx

    with tempfile.TemporaryDirectory() as data_dir:
        token = _agora(data_dir, "keys", "create", "-s", "read", "-s", "write").stdout.split()[-1]
        port = _free_port()
        env = {**os.environ, "AGORA_DATA_DIR": data_dir, "AGORA_SERVER__LOG_LEVEL": "WARNING"}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agora.cli.main",
                "--data-dir",
                data_dir,
                "serve",
                "--port",
                str(port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}/api/v1"
        headers = {"Authorization": f"Bearer {token}"}
        try:
            with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
                _wait_ready(http)
                http.put("/sellers/s1", json={"name": "Bench Seller"}).raise_for_status()
                asset_ids = []
                for i in range(20):
                    meta = {"title": f"Bench asset {i}", "seller_id": "s1", "price": 1.0}
                    r = http.post("/assets", data={"metadata": json.dumps(meta)})
                    r.raise_for_status()
                    asset_ids.append(r.json()["id"])
            events = [
                p | {"asset_id": asset_ids[int(p["asset_id"][1:]) % len(asset_ids)]}
                for p in payloads
            ]
            batches = [events[i : i + BATCH] for i in range(0, len(events), BATCH)]

            def post(batch: list[dict[str, Any]], http: httpx.Client) -> int:
                r = http.post("/events", json={"events": batch})
                r.raise_for_status()
                return int(r.json()["accepted"])

            pool = [
                httpx.Client(base_url=base, headers=headers, timeout=120) for _ in range(clients)
            ]
            started = time.perf_counter()
            with ThreadPoolExecutor(clients) as ex:
                accepted = sum(
                    ex.map(post, batches, [pool[i % clients] for i in range(len(batches))])
                )
            elapsed = time.perf_counter() - started
            for c in pool:
                c.close()
            if accepted != len(events):
                raise RuntimeError(f"API accepted {accepted} of {len(events)} events")
            return accepted / elapsed
        finally:
            server.terminate()
            server.wait(30)


def _wait_ready(http: Any, timeout_s: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            http.get("/sellers/none")  # any answer means the server is up
            return
        except httpx.TransportError:  # not listening yet
            pass
        time.sleep(0.25)
    raise RuntimeError("agora serve did not become ready")


def _measure(label: str, fn: Callable[[], Any]) -> Any:
    print(f"running {label} ...", flush=True)
    return fn()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer events")
    parser.add_argument("--no-api", action="store_true", help="bus only, skip agora serve")
    args = parser.parse_args()
    n_bus = 20_000 if args.quick else 100_000
    n_api = 5_000 if args.quick else 20_000
    payloads = interaction_payloads(n_bus)
    results: dict[str, Any] = {"n_events_bus": n_bus, "batch_size": BATCH}
    emb = _measure("embedded bus", lambda: bench_bus_embedded(payloads))
    results["bus_events_per_s_embedded"] = round(emb["publish"])
    results["bus_consume_events_per_s_embedded"] = round(emb["consume"])
    red = _measure("redis streams bus", lambda: bench_bus_redis(payloads))
    if red:
        results["bus_events_per_s_redis"] = round(red["publish"])
        results["bus_consume_events_per_s_redis"] = round(red["consume"])
    if not args.no_api:
        api = _measure(
            "API POST /api/v1/events", lambda: bench_api_events_embedded(payloads[:n_api])
        )
        results["api_events_per_s_embedded"] = round(api)
        results["n_events_api"] = n_api
    results["machine"] = (
        f"{platform.machine()} {os.cpu_count()} cpu, python {platform.python_version()}"
    )
    print(f"\n{'figure':<40} {'events/s':>12}")
    for key, value in results.items():
        if key.endswith("_per_s_embedded") or key.endswith("_per_s_redis"):
            print(f"{key:<40} {value:>12,}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
