"""The bus contract for both backends, plus what only the embedded bus promises
(several processes on one file, trimming)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agora.bus import EmbeddedBus, Event, RedisStreamsBus, create_bus
from agora.config import BusSettings, Settings
from agora.errors import InvalidInput
from agora.testing.bus_contract import TOPIC, BusContract

# Visibility timeouts, blocking consumes and child processes: rerun under CPU load in CI.
pytestmark = pytest.mark.process


class TestEmbeddedBus(BusContract):
    @pytest.fixture(autouse=True)
    def _file(self, tmp_path: Path) -> None:
        self.path = tmp_path / "bus.db"

    def make_bus(self, settings: BusSettings) -> EmbeddedBus:
        return EmbeddedBus(f"memory://?path={self.path}", settings=settings)


@pytest.mark.integration
class TestRedisStreamsBus(BusContract):
    @pytest.fixture(autouse=True)
    def _server(self, redis_url: str) -> None:
        self.url = redis_url

    def make_bus(self, settings: BusSettings) -> RedisStreamsBus:
        return RedisStreamsBus(self.url, settings=settings)

    def test_every_key_is_under_the_prefix(self) -> None:
        bus = self.bus()
        bus.publish(Event(topic=TOPIC, payload={}))
        [d] = bus.consume(TOPIC, "g", "c", block_ms=0)
        bus.nack(d, "x", retry_in_s=60)
        keys = [k.decode() for k in bus.client.scan_iter(f"{bus.prefix}*")]
        assert all(k.startswith(bus.prefix + ":") for k in keys)
        assert {k.removeprefix(bus.prefix) for k in keys} == {
            f":{TOPIC}",
            f":{TOPIC}:delayed:g",
            f":{TOPIC}:retry:g",
        }


def test_create_bus_picks_backend_by_url(tmp_path: Path) -> None:
    bus = create_bus(Settings(data_dir=tmp_path))
    assert isinstance(bus, EmbeddedBus) and bus.path == tmp_path.absolute() / "bus.db"
    bus.close()
    with pytest.raises(InvalidInput, match="no event bus backend"):
        create_bus(Settings(data_dir=tmp_path, bus={"url": "kafka://x"}))


def test_embedded_trim_keeps_unsettled_events(tmp_path: Path) -> None:
    bus = EmbeddedBus(f"memory://?path={tmp_path / 'bus.db'}", settings=BusSettings())
    bus.publish_many([Event(topic=TOPIC, payload={"i": i}) for i in range(10)])
    got = bus.consume(TOPIC, "g", "c", max_count=6, block_ms=0)
    for d in got[:5]:
        bus.ack(d)
    # seq 1-5 acked, 6 in flight, 7-10 unread: only 1-5 may go.
    assert bus.trim(TOPIC) == 5
    assert bus.depth(TOPIC, "g") == 5
    bus.ack(got[5])
    assert bus.trim(TOPIC, keep_last=2) == 1  # seq 6 settled; 7-10 still unread
    rest = bus.consume(TOPIC, "g", "c", block_ms=0)
    assert [d.event.payload["i"] for d in rest] == [6, 7, 8, 9]
    for d in rest:
        bus.ack(d)
    assert bus.trim(TOPIC, keep_last=2) == 2
    assert [d.event.payload["i"] for d in bus.consume(TOPIC, "new", "c", block_ms=0)] == [8, 9]
    bus.close()


CONSUME_IN_CHILD = """
import json, sys
from agora.bus.embedded import EmbeddedBus
from agora.config import BusSettings
bus = EmbeddedBus("memory://?path=" + sys.argv[1], settings=BusSettings())
got = []
while True:
    batch = bus.consume("asset.uploaded", "g", sys.argv[2], max_count=7, block_ms=300)
    if not batch:
        break
    for d in batch:
        bus.ack(d)
        got.append(d.event.payload["i"])
print(json.dumps(got))
"""


def test_embedded_processes_share_one_file_without_double_delivery(tmp_path: Path) -> None:
    path = tmp_path / "bus.db"
    bus = EmbeddedBus(f"memory://?path={path}", settings=BusSettings())
    bus.consume(TOPIC, "g", "parent", block_ms=0)  # the group exists before children race
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CONSUME_IN_CHILD, str(path), f"child{n}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    for start in range(0, 400, 50):
        bus.publish_many([Event(topic=TOPIC, payload={"i": i}) for i in range(start, start + 50)])
    seen: list[int] = []
    for child in children:
        out, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        seen += __import__("json").loads(out)
    assert sorted(seen) == list(range(400))
    assert bus.depth(TOPIC, "g") == 0
    bus.close()


def test_embedded_url_without_location_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="data_dir"):
        EmbeddedBus("memory://")
