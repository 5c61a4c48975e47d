"""Ops middleware and endpoints on a minimal app: metrics by route template,
body limit, request id, access log, rate limit 429, health, readiness, webhooks API."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from agora.api.deps import Reader
from agora.api.problems import install_problem_handlers
from agora.api.routers import ops as ops_router
from agora.api.routers import webhooks as webhooks_router
from agora.config import Settings
from agora.ops.logging import JsonFormatter, configure_logging
from agora.ops.middleware import install_ops
from agora.ops.queues import watch_queue
from agora.runtime import Platform


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    settings = Settings.load(data_dir=tmp_path / "agora", uploads={"max_request_bytes": 1000})
    p = Platform.build(settings)
    yield p
    p.close()


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    app = FastAPI()
    app.state.platform = platform
    install_problem_handlers(app)
    install_ops(app, platform.settings)

    @app.get("/api/v1/things/{thing_id}")
    def thing(thing_id: str, principal: Reader, request: Request) -> dict[str, str]:
        return {"id": thing_id, "request_id": request.state.request_id}

    @app.post("/api/v1/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("kaboom")

    app.include_router(webhooks_router.router, prefix="/api/v1")
    app.include_router(ops_router.router)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_latency_is_labelled_by_route_template_not_raw_path(client, platform) -> None:
    token = platform.keys.create(["read"]).token
    before = sample(
        "agora_http_request_duration_seconds_count",
        method="GET",
        route="/api/v1/things/{thing_id}",
        status="200",
    )
    for thing_id in ("a", "b", "c"):
        assert client.get(f"/api/v1/things/{thing_id}", headers=auth(token)).status_code == 200
    assert (
        sample(
            "agora_http_request_duration_seconds_count",
            method="GET",
            route="/api/v1/things/{thing_id}",
            status="200",
        )
        == before + 3
    )
    assert (
        sample(
            "agora_http_request_duration_seconds_count",
            method="GET",
            route="/api/v1/things/a",
            status="200",
        )
        == 0
    )
    errors = sample("agora_http_errors_total", method="GET", route="<unmatched>", status="404")
    assert client.get("/no/such/path").status_code == 404
    assert (
        sample("agora_http_errors_total", method="GET", route="<unmatched>", status="404")
        == errors + 1
    )


def test_request_id_is_echoed_or_generated(client, platform) -> None:
    token = platform.keys.create(["read"]).token
    r = client.get("/api/v1/things/x", headers={**auth(token), "X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123" and r.json()["request_id"] == "abc-123"
    r = client.get("/api/v1/things/x", headers={**auth(token), "X-Request-ID": "bad id\x01"})
    assert len(r.headers["x-request-id"]) == 32 and r.headers["x-request-id"] != "bad id"
    assert client.get("/healthz").headers["x-request-id"]


def test_oversized_body_is_413_problem_json(client, platform) -> None:
    assert client.post("/api/v1/echo", content=b"x" * 1000).json() == {"size": 1000}
    r = client.post("/api/v1/echo", content=b"x" * 1001)
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/payload-too-large") and r.json()["limit"] == 1000

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        for _ in range(5):
            yield b"y" * 300

    r = client.post("/api/v1/echo", content=chunks())
    assert r.status_code == 413 and r.json()["status"] == 413
    # A JSON route whose body FastAPI parses itself (it would answer 400 for a
    # body cut short) is answered 413 as well.
    admin = auth(platform.keys.create(["admin"]).token)
    r = client.post("/api/v1/webhooks", content=chunks(), headers=admin)
    assert r.status_code == 413 and r.json()["type"].endswith("/payload-too-large")


def test_key_over_its_rate_limit_gets_429_with_retry_after(client, platform) -> None:
    token = platform.keys.create(["read"], rate_limit_per_minute=2).token
    assert client.get("/api/v1/things/1", headers=auth(token)).status_code == 200
    assert client.get("/api/v1/things/1", headers=auth(token)).status_code == 200
    r = client.get("/api/v1/things/1", headers=auth(token))
    assert r.status_code == 429
    assert r.headers["content-type"] == "application/problem+json"
    assert int(r.headers["retry-after"]) >= 1
    assert r.json()["type"].endswith("/rate-limited") and r.json()["limit"] == 2


def test_access_log_is_one_json_line_with_route_and_key(client, platform, caplog) -> None:
    token = platform.keys.create(["read"])
    with caplog.at_level(logging.INFO, logger="agora.access"):
        client.get("/api/v1/things/7", headers={**auth(token.token), "X-Request-ID": "r-7"})
    (record,) = [r for r in caplog.records if r.name == "agora.access"]
    line = json.loads(JsonFormatter().format(record))
    assert line["route"] == "/api/v1/things/{thing_id}" and line["status"] == 200
    assert line["key_id"] == token.key_id and line["request_id"] == "r-7"
    assert line["level"] == "INFO" and line["logger"] == "agora.access"
    assert line["duration_ms"] >= 0 and line["timestamp"].endswith("+00:00")


def test_configure_logging_writes_json_to_stdout(capsys) -> None:
    configure_logging("INFO", json=True)
    try:
        logging.getLogger("agora.test").info("hello %s", "world", extra={"asset_id": "a1"})
        out = capsys.readouterr().out.strip().splitlines()[-1]
        assert json.loads(out)["message"] == "hello world"
        assert json.loads(out)["asset_id"] == "a1"
        configure_logging("INFO", json=True)  # idempotent: still one line per record
        logging.getLogger("agora.test").warning("once")
        assert capsys.readouterr().out.count("once") == 1
    finally:
        root = logging.getLogger()
        for h in [h for h in root.handlers if type(h).__name__ == "_Marker"]:
            root.removeHandler(h)


def test_healthz_and_readyz(client, platform) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert set(r.json()["checks"]) == {"catalog", "bus", "blobs"}
    assert all(c["status"] == "ok" for c in r.json()["checks"].values())
    assert all(c["latency_ms"] >= 0 for c in r.json()["checks"].values())
    assert all("error" not in c for c in r.json()["checks"].values())  # nulls are left out


def test_ops_routes_are_documented_public_and_typed(client, platform) -> None:
    from agora.api.app import create_app

    health = client.get("/healthz").json()
    assert set(health) == {"status", "version"}
    paths = create_app(platform, start_background=False).openapi()["paths"]
    ops = {p: paths[p]["get"] for p in ("/healthz", "/readyz", "/metrics")}
    assert not any(op.get("security") for op in ops.values())  # no key needed
    assert ops["/healthz"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Health"
    }
    ready = ops["/readyz"]["responses"]
    assert ready["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Readiness")
    not_ready = ready["503"]["content"]["application/problem+json"]["schema"]
    assert not_ready["$ref"].endswith("/NotReady")
    assert ops["/metrics"]["responses"]["200"]["content"] == {
        "text/plain": {"schema": {"type": "string"}}
    }


def test_readyz_names_a_failing_backend(client, platform, monkeypatch) -> None:
    def broken() -> None:
        raise ConnectionError("bus unreachable")

    monkeypatch.setattr(platform.bus, "ping", broken)
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["checks"]["bus"]["status"] == "error"
    assert "bus unreachable" in r.json()["checks"]["bus"]["error"]
    assert r.json()["checks"]["catalog"]["status"] == "ok"
    assert "bus" in r.json()["detail"]


def test_metrics_exposes_prometheus_text_with_queue_depth(client, platform) -> None:
    watch_queue("asset.uploaded", "ops-test-group")
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert "agora_http_request_duration_seconds_bucket" in r.text
    assert 'agora_bus_queue_depth{group="ops-test-group",topic="asset.uploaded"}' in r.text


def test_webhooks_api(client, platform) -> None:
    admin = auth(platform.keys.create(["admin"]).token)
    reader = auth(platform.keys.create(["read"]).token)
    body = {"url": "http://127.0.0.1:9/hooks", "event_types": ["asset.processed"]}
    assert client.post("/api/v1/webhooks", json=body, headers=reader).status_code == 403
    r = client.post("/api/v1/webhooks", json=body, headers=admin)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["secret"].startswith("whsec_") and created["id"].startswith("wh_")
    listed = client.get("/api/v1/webhooks", headers=admin).json()["items"]
    assert [w["id"] for w in listed] == [created["id"]] and "secret" not in listed[0]
    one = client.get(f"/api/v1/webhooks/{created['id']}", headers=admin).json()
    assert one["event_types"] == ["asset.processed"] and "secret" not in one
    bad = client.post(
        "/api/v1/webhooks",
        headers=admin,
        json={"url": "ftp://x/", "event_types": ["asset.processed"]},
    )
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    bad = client.post(
        "/api/v1/webhooks", headers=admin, json={"url": "https://x/", "event_types": ["nope"]}
    )
    assert bad.status_code == 422
    assert [e["loc"] for e in bad.json()["errors"]] == [["body", "event_types", 0]]
    assert "asset.processed" in bad.json()["errors"][0]["msg"]

    from agora.webhooks import WebhookDispatcher

    WebhookDispatcher(platform.db, platform.settings).enqueue("asset.processed", "e1", {"a": 1})
    log = client.get(f"/api/v1/webhooks/{created['id']}/deliveries", headers=admin).json()
    assert [(d["event_id"], d["status"], d["attempts"]) for d in log["items"]] == [
        ("e1", "pending", 0)
    ]
    failed = client.get(
        f"/api/v1/webhooks/{created['id']}/deliveries?status=failed", headers=admin
    ).json()
    assert failed["items"] == []
    assert client.delete(f"/api/v1/webhooks/{created['id']}", headers=admin).status_code == 204
    r = client.get(f"/api/v1/webhooks/{created['id']}", headers=admin)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = client.get(f"/api/v1/webhooks/{created['id']}/deliveries", headers=admin)
    assert r.status_code == 404
    actions = [e.action for e in platform.audit.query().entries]
    assert {"webhook.created", "webhook.deleted"} <= set(actions)


def test_unhandled_error_is_500_problem_and_counted(client) -> None:
    before = sample("agora_http_errors_total", method="GET", route="/api/v1/boom", status="500")
    r = client.get("/api/v1/boom")
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert (
        sample("agora_http_errors_total", method="GET", route="/api/v1/boom", status="500")
        == before + 1
    )
