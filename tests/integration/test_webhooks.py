"""Webhooks end to end: a real HTTP receiver on 127.0.0.1 that checks signatures,
down at first, up later; deliveries retried with backoff, logged, never doubled.

Dispatchers run on a ``ManualClock``: backoff windows are stepped through by
advancing it, so "nothing due yet" holds however slow the machine is."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agora.config import WebhookSettings
from agora.errors import InvalidInput, NotFound
from agora.ops.metrics import WEBHOOK_DELIVERIES
from agora.storage.database import Database
from agora.testing.clock import ManualClock
from agora.testing.net import free_port
from agora.testing.wait import wait_until
from agora.webhooks import WebhookDispatcher, WebhookRegistry, verify
from agora.webhooks.signing import InvalidSignature

# Backoff in clock seconds (the clock is manual, so these cost no wall time); a
# send timeout a loaded machine cannot hit on loopback.
# Real HTTP receivers, thread pools and a delivery loop: rerun under CPU load in CI.
pytestmark = pytest.mark.process

FAST = WebhookSettings(timeout_s=30.0, max_attempts=4, backoff_base_s=10.0, backoff_max_s=20.0)
# Real seconds for work that really happens (HTTP round trips on loopback).
DEADLINE_S = 120.0


class Receiver:
    """A real HTTP endpoint that verifies ``Agora-Signature`` on every POST."""

    def __init__(self, port: int, secret: str, status: int = 204) -> None:
        self.port, self.secret, self.status = port, secret, status
        self.received: list[dict] = []
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    verify(receiver.secret, self.headers.get("Agora-Signature"), body)
                except InvalidSignature:
                    receiver.bad_signatures += 1
                    self.send_response(400)
                    self.end_headers()
                    return
                receiver.received.append({"headers": dict(self.headers), "body": json.loads(body)})
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def reopen(db: Database) -> Database:
    """A second connection pool on the same catalog: another process's view."""
    return Database.open(db.engine.url.render_as_string(hide_password=False))


def deliver_until(dispatcher: WebhookDispatcher, clock: ManualClock, done) -> None:
    """Deliver what is due, then move past the longest backoff, until ``done()``."""

    def step() -> bool:
        if done():
            return True
        dispatcher.deliver_due()
        clock.advance(FAST.backoff_max_s)
        return bool(done())

    wait_until(step, timeout_s=DEADLINE_S, what="deliveries to complete", interval_s=0.02)


def test_receiver_down_then_up_gets_signed_deliveries(db: Database) -> None:
    port = free_port()  # nothing listens here yet: connection refused
    sub = WebhookRegistry(db).create(
        f"http://127.0.0.1:{port}/hooks", ["asset.processed", "verdict.created"], actor="key:t"
    )
    other = WebhookRegistry(db).create(
        f"http://127.0.0.1:{port}/other", ["alert.fired"], actor="key:t"
    )
    clock = ManualClock()
    dispatcher = WebhookDispatcher(db, FAST, clock=clock)
    assert dispatcher.enqueue("asset.processed", "ev1", {"asset_id": "a1"}) == 1
    assert dispatcher.enqueue("verdict.created", "ev2", {"asset_id": "a1", "verdict": "ok"}) == 1
    assert dispatcher.enqueue("asset.processed", "ev1", {"asset_id": "a1"}) == 0  # idempotent
    assert dispatcher.enqueue("tags.updated", "ev3", {}) == 0  # nobody subscribed
    retries_before = WEBHOOK_DELIVERIES.labels(outcome="retry")._value.get()

    assert dispatcher.deliver_due() == 2
    log = dispatcher.deliveries(sub.id)
    assert [d["status"] for d in log] == ["pending", "pending"]
    assert all(d["attempts"] == 1 and d["last_status_code"] is None for d in log)
    assert all("ConnectError" in d["last_error"] for d in log)
    assert all(d["next_attempt_at"] > d["created_at"] for d in log)
    assert dispatcher.deliver_due() == 0  # backing off: nothing due yet
    clock.advance(FAST.backoff_base_s / 2 - 0.001)  # the shortest jittered wait, not quite
    assert dispatcher.deliver_due() == 0
    assert WEBHOOK_DELIVERIES.labels(outcome="retry")._value.get() == retries_before + 2
    dispatcher.close()

    # The receiver comes up; a fresh dispatcher (a restarted worker) picks the rows up.
    receiver = Receiver(port, sub.secret)
    try:
        restarted = WebhookDispatcher(reopen(db), FAST, clock=clock)
        deliver_until(restarted, clock, lambda: len(receiver.received) == 2)
        restarted.close()
    finally:
        receiver.close()

    assert receiver.bad_signatures == 0
    by_event = {r["body"]["id"]: r for r in receiver.received}
    assert set(by_event) == {"ev1", "ev2"}
    first = by_event["ev1"]
    assert first["body"]["type"] == "asset.processed"
    assert first["body"]["data"] == {"asset_id": "a1"}
    assert first["headers"]["Agora-Event"] == "asset.processed"
    assert first["headers"]["Content-Type"] == "application/json"
    assert first["headers"]["Agora-Delivery-Attempt"] == "2"
    log = {d["event_id"]: d for d in WebhookDispatcher(db, FAST).deliveries(sub.id)}
    assert first["headers"]["Agora-Delivery"] == str(log["ev1"]["id"])
    for entry in log.values():
        assert entry["status"] == "delivered"
        assert entry["attempts"] == 2
        assert entry["last_status_code"] == 204
        assert entry["last_error"] is None
        assert entry["delivered_at"] is not None and entry["next_attempt_at"] is None
    assert WebhookDispatcher(db, FAST).deliveries(other.id) == []


def test_receiver_error_is_retried_then_failed(db: Database) -> None:
    port = free_port()
    sub = WebhookRegistry(db).create(f"http://127.0.0.1:{port}/", ["alert.fired"], actor=None)
    receiver = Receiver(port, sub.secret, status=500)
    clock = ManualClock()
    dispatcher = WebhookDispatcher(db, FAST, clock=clock)
    try:
        dispatcher.enqueue("alert.fired", "al1", {"alert": "drift"})
        deliver_until(
            dispatcher, clock, lambda: dispatcher.deliveries(sub.id)[0]["status"] == "failed"
        )
    finally:
        receiver.close()
        dispatcher.close()
    (entry,) = dispatcher.deliveries(sub.id, status="failed")
    assert entry["attempts"] == FAST.max_attempts
    assert entry["last_status_code"] == 500
    assert entry["last_error"].startswith("HTTP 500")
    assert len(receiver.received) == FAST.max_attempts  # and not one more
    assert dispatcher.deliveries(sub.id, status="pending") == []


def test_concurrent_dispatchers_send_each_delivery_once(db: Database) -> None:
    port = free_port()
    sub = WebhookRegistry(db).create(
        f"http://127.0.0.1:{port}/", ["interaction.recorded"], actor="key:t"
    )
    receiver = Receiver(port, sub.secret)
    clock = ManualClock()
    dispatchers = [WebhookDispatcher(reopen(db), FAST, clock=clock) for _ in range(3)]
    try:
        for i in range(30):
            dispatchers[0].enqueue("interaction.recorded", f"i{i}", {"n": i})
        threads = [
            threading.Thread(target=d.deliver_due, kwargs={"limit": 30}) for d in dispatchers
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        deliver_until(dispatchers[0], clock, lambda: len(receiver.received) >= 30)
    finally:
        receiver.close()
        for d in dispatchers:
            d.close()
    ids = [r["headers"]["Agora-Delivery"] for r in receiver.received]
    assert len(ids) == 30 and len(set(ids)) == 30


def test_run_forever_delivers_and_stops(db: Database) -> None:
    port = free_port()
    sub = WebhookRegistry(db).create(f"http://127.0.0.1:{port}/", ["model.promoted"], actor="x")
    receiver = Receiver(port, sub.secret, status=200)
    dispatcher = WebhookDispatcher(db, FAST)
    stop = threading.Event()
    loop = threading.Thread(
        target=dispatcher.run_forever, args=(stop,), kwargs={"poll_interval_s": 0.05}
    )
    loop.start()
    try:
        dispatcher.enqueue("model.promoted", "m1", {"model": "ranker@3"})
        wait_until(
            lambda: bool(receiver.received), timeout_s=DEADLINE_S, what="the loop to deliver"
        )
    finally:
        stop.set()
        loop.join(timeout=DEADLINE_S)
        receiver.close()
        dispatcher.close()
    assert not loop.is_alive()
    assert receiver.received[0]["body"]["data"] == {"model": "ranker@3"}


def test_subscription_validation_and_lifecycle(db: Database) -> None:
    registry = WebhookRegistry(db)
    for url in ("ftp://x.example/", "not a url", "", "http://"):
        with pytest.raises(InvalidInput):
            registry.create(url, ["asset.processed"], actor=None)
    with pytest.raises(InvalidInput, match="unknown event types"):
        registry.create("https://x.example/", ["asset.exploded"], actor=None)
    with pytest.raises(InvalidInput):
        registry.create("https://x.example/", [], actor=None)
    with pytest.raises(InvalidInput):
        WebhookDispatcher(db, FAST).enqueue("asset.exploded", "e", {})

    sub = registry.create("https://x.example/h", ["tags.updated", "tags.updated"], actor="key:a")
    assert sub.secret and sub.secret.startswith("whsec_")
    assert sub.event_types == ["tags.updated"]
    stored = registry.get(sub.id)
    assert stored.secret is None and stored.created_by == "key:a"
    assert [s.id for s in registry.list()] == [sub.id]
    WebhookDispatcher(db, FAST).enqueue("tags.updated", "t1", {"asset_id": "a"})
    registry.delete(sub.id)
    with pytest.raises(NotFound):
        registry.get(sub.id)
    with pytest.raises(NotFound):
        registry.delete(sub.id)
    with pytest.raises(NotFound):
        WebhookDispatcher(db, FAST).deliveries(sub.id)
    assert WebhookDispatcher(db, FAST).deliver_due() == 0  # its deliveries went with it


def test_bus_events_fan_out_by_topic_once(db: Database) -> None:
    from agora.bus.base import Event, Topics

    sub = WebhookRegistry(db).create("https://x.example/h", ["asset.processed"], actor="key:a")
    dispatcher = WebhookDispatcher(db, FAST)
    event = Event(topic=Topics.ASSET_PROCESSED, payload={"asset_id": "a9"})
    assert dispatcher.handle_event(event) == 1
    assert dispatcher.handle_event(event) == 0  # a redelivered bus event: no second webhook
    assert dispatcher.handle_event(Event(topic=Topics.ASSET_UPLOADED, payload={})) == 0
    (entry,) = dispatcher.deliveries(sub.id)
    assert entry["event_id"] == event.id and entry["event_type"] == "asset.processed"
    dispatcher.close()
