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
from prometheus_client import CollectorRegistry, Counter

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


def test_fallback_rate_is_requests_that_fell_back_over_requests() -> None:
    registry = CollectorRegistry()
    served = Counter("agora_served_requests", "", ["surface"], registry=registry)
    fell_back = Counter("agora_fallback_requests", "", ["surface"], registry=registry)
    kinds = Counter("agora_fallbacks", "", ["kind"], registry=registry)
    rate = FallbackRate(registry)
    served.labels("search").inc(90)
    fell_back.labels("search").inc(12)
    served.labels("recommendations").inc(10)
    fell_back.labels("recommendations").inc(10)
    kinds.labels("vector_down_keyword_only").inc(12)
    kinds.labels("recommend_model_unavailable").inc(500)  # background jobs: a breakdown only
    reading = rate.read()
    assert reading.total == 100 and reading.rate == pytest.approx(22 / 100)
    assert reading.rate_of("search") == pytest.approx(12 / 90)
    assert reading.rate_of("recommendations") == 1.0
    assert reading.kinds["recommend_model_unavailable"] == 500
    nothing = rate.read()  # deltas since the previous read
    assert nothing.total == 0 and nothing.rate == 0.0


def test_fallback_rate_is_bounded_between_a_requests_two_counts() -> None:
    registry = CollectorRegistry()
    served = Counter("agora_served_requests", "", ["surface"], registry=registry)
    fell_back = Counter("agora_fallback_requests", "", ["surface"], registry=registry)
    rate = FallbackRate(registry)
    served.labels("ranking").inc(30)
    fell_back.labels("ranking").inc(29)
    rate.read()
    fell_back.labels("ranking").inc()  # read before the request's served count lands
    assert rate.read().rate_of("ranking") == 0.0  # no request in this period
    served.labels("ranking").inc(2)
    assert rate.read().rate_of("ranking") == 0.0


def test_a_request_counts_once_whatever_it_fell_back_on() -> None:
    from prometheus_client import REGISTRY

    from agora.ops.fallbacks import close_request, count_fallback, request_scope

    def value(name: str, surface: str) -> float:
        return REGISTRY.get_sample_value(name, {"surface": surface}) or 0.0

    before = (
        value("agora_served_requests_total", "tagging"),
        value("agora_fallback_requests_total", "tagging"),
    )
    scope, token = request_scope()
    count_fallback("tagging_cloud_to_local")
    count_fallback("tagging_cloud_to_local")
    count_fallback("vector_down_keyword_only")
    assert close_request(token, scope, "POST", "/api/v1/assets/{asset_id}/tags", 200) == "tagging"
    count_fallback("tagging_cloud_to_local")  # outside any request: by kind only
    scope, token = request_scope()
    count_fallback("tagging_cloud_to_local")
    assert close_request(token, scope, "POST", "/api/v1/assets/{asset_id}/tags", 422) is None
    scope, token = request_scope()
    assert close_request(token, scope, "POST", "/api/v1/assets/{asset_id}/tags", 200)
    after = (
        value("agora_served_requests_total", "tagging"),
        value("agora_fallback_requests_total", "tagging"),
    )
    assert (after[0] - before[0], after[1] - before[1]) == (2, 1)


def test_every_serving_route_exists(tmp_path: Path) -> None:
    from agora.api.app import create_app
    from agora.config import Settings
    from agora.ops.fallbacks import SERVING_ROUTES
    from agora.runtime import Platform

    platform = Platform.build(Settings.load(data_dir=tmp_path / "agora"))
    try:
        paths = create_app(platform, start_background=False).openapi()["paths"]
        routes = {(m.upper(), path) for path, ops in paths.items() for m in ops}
    finally:
        platform.close()
    assert set(SERVING_ROUTES) <= routes, set(SERVING_ROUTES) - routes


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
