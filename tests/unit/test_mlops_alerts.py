"""Alert notifier bodies (Slack, PagerDuty) to a real local HTTP receiver; the
fallback-rate rule; deploy/ rules and dashboard name real metrics."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, Counter, Histogram

from agora.config import MlopsSettings
from agora.mlops.alerts import AlertNotifier, FallbackRate
from agora.testing.net import free_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    got: list[tuple[str, dict[str, Any]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append((self.path, json.loads(body)))
            self.send_response(202 if self.path != "/down" else 500)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", got
    server.shutdown()


def test_slack_and_pagerduty_bodies_and_dedup(receiver: Any) -> None:
    url, got = receiver
    settings = MlopsSettings(
        alert_slack_url=f"{url}/slack",
        alert_pagerduty_url=f"{url}/pd",
        alert_pagerduty_routing_key="R0UT1NG",
        alert_generic_urls=[f"{url}/down"],
    )
    notifier = AlertNotifier(settings)
    sent = notifier.send(
        "fallback_rate", "fallback rate 14% > 10%", {"by_kind": "x"}, severity="critical"
    )
    assert sent == 2  # the generic receiver answered 500: logged and counted, not raised
    bodies = dict(got)
    assert bodies["/slack"]["text"].startswith("[CRITICAL] Agora fallback_rate")
    assert bodies["/slack"]["blocks"][0]["type"] == "header"
    pd = bodies["/pd"]
    assert pd["routing_key"] == "R0UT1NG" and pd["event_action"] == "trigger"
    assert pd["payload"]["severity"] == "critical" and "14%" in pd["payload"]["summary"]
    assert bodies["/down"]["rule"] == "fallback_rate"
    assert notifier.send("fallback_rate", "again", {}) == 0  # de-duplicated
    notifier.close()


def test_fallback_rate_counts_only_model_serving_routes() -> None:
    registry = CollectorRegistry()
    requests = Histogram(
        "agora_http_request_duration_seconds", "", ["method", "route", "status"], registry=registry
    )
    fallbacks = Counter("agora_fallbacks", "", ["kind"], registry=registry)
    rate = FallbackRate(registry)
    for _ in range(90):
        requests.labels("GET", "/api/v1/search", "200").observe(0.01)
    for _ in range(500):
        requests.labels("GET", "/api/v1/jobs/{job_id}", "200").observe(0.01)
    for _ in range(12):
        fallbacks.labels("vector_down_keyword_only").inc()
    reading = rate.read()
    assert reading.requests == 90 and reading.rate == pytest.approx(12 / 90)
    assert rate.read().requests == 0  # deltas since the previous read


def test_rules_and_dashboard_name_platform_metrics() -> None:
    import agora.ops.metrics as m

    names = {c._name for c in vars(m).values() if hasattr(c, "_name")}
    rules = yaml.safe_load((DEPLOY / "prometheus-rules.yml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    assert {"AgoraFallbackRateHigh", "AgoraFeatureDrift"} <= alerts
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {n for e in exprs for n in re.findall(r"\bagora_[a-z_]+", e)}
    base = {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in used}
    assert base <= {re.sub(r"_total$", "", n) for n in names}, base - names
    titles = " ".join(p["title"] for p in dashboard["panels"])
    assert "CTR per model version" in titles and "Fallback rate" in titles
