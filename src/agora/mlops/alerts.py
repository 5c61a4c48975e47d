"""Alert notifier (Slack- and PagerDuty-compatible JSON) and the fallback-rate rule.

Bodies:
* Slack incoming webhook: ``{"text": ..., "blocks": [...]}``.
* PagerDuty Events API v2: ``{"routing_key", "event_action": "trigger",
  "dedup_key", "payload": {"summary", "source", "severity", "custom_details"}}``.
* generic URLs get ``{"text", "rule", "severity", "summary", "details"}``: the
  ``text`` key makes it Slack/Mattermost-compatible too.

The same alert (rule + key) is not re-sent within ``repeat_s``. A receiver
that is down is logged and counted (``agora_alerts_total{outcome="error"}``),
never raised: alerting must not break the check that raised it.

``FallbackRate`` reads this process's Prometheus counters (fallbacks by kind,
HTTP requests on the model-serving routes) and reports the rate since the
previous check; the rules file in ``deploy/`` is the multi-process version.

Example:
    >>> notifier = AlertNotifier(settings.mlops)  # doctest: +SKIP
    >>> notifier.send("drift", "pCTR inputs drifted", {"features": ["price"]})  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client import REGISTRY, CollectorRegistry

from agora.config import MlopsSettings
from agora.ops.metrics import ALERTS_SENT

log = logging.getLogger("agora.mlops.alerts")

# Routes whose requests are model decisions (the fallback-rate denominator).
ML_ROUTES = re.compile(
    r"^/api/v1/(search|recommend|recommendations|rank|ranking|feed|tags|tagging|moderat)"
)


def slack_body(rule: str, summary: str, details: dict[str, Any], severity: str) -> dict[str, Any]:
    lines = "\n".join(f"• *{k}*: {v}" for k, v in details.items())
    return {
        "text": f"[{severity.upper()}] Agora {rule}: {summary}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": f"Agora alert: {rule}"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{summary}*\n{lines}"}},
        ],
    }


def pagerduty_body(
    rule: str, summary: str, details: dict[str, Any], severity: str, routing_key: str, key: str
) -> dict[str, Any]:
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": f"agora:{rule}:{key}",
        "payload": {
            "summary": f"Agora {rule}: {summary}"[:1024],
            "source": socket.gethostname(),
            "severity": severity
            if severity in {"critical", "error", "warning", "info"}
            else "error",
            "component": "agora",
            "group": rule,
            "custom_details": details,
        },
    }


class AlertNotifier:
    """Send alerts to the configured Slack, PagerDuty and generic webhook URLs."""

    def __init__(
        self,
        settings: MlopsSettings,
        *,
        client: httpx.Client | None = None,
        repeat_s: float = 3600.0,
    ) -> None:
        self.settings = settings
        self.client = client or httpx.Client(timeout=5.0)
        self.repeat_s = repeat_s
        self._sent: dict[str, float] = {}
        self._lock = threading.Lock()

    def targets(self) -> list[tuple[str, str]]:
        s = self.settings
        out = [("slack", s.alert_slack_url)] if s.alert_slack_url else []
        if s.alert_pagerduty_url:
            out.append(("pagerduty", s.alert_pagerduty_url))
        out += [("generic", url) for url in s.alert_generic_urls]
        return out

    def send(
        self,
        rule: str,
        summary: str,
        details: dict[str, Any],
        *,
        severity: str = "warning",
        key: str = "",
    ) -> int:
        """Post the alert to every target; returns how many accepted it (2xx)."""
        dedup = f"{rule}:{key}"
        now = time.monotonic()
        with self._lock:
            if now - self._sent.get(dedup, -1e18) < self.repeat_s:
                return 0
            self._sent[dedup] = now
        log.warning("alert %s: %s %s", rule, summary, details)
        delivered = 0
        for kind, url in self.targets():
            if kind == "slack":
                body = slack_body(rule, summary, details, severity)
            elif kind == "pagerduty":
                body = pagerduty_body(
                    rule, summary, details, severity, self.settings.alert_pagerduty_routing_key, key
                )
            else:
                body = slack_body(rule, summary, details, severity) | {
                    "rule": rule,
                    "severity": severity,
                    "summary": summary,
                    "details": details,
                }
            try:
                response = self.client.post(url, json=body)
                ok = 200 <= response.status_code < 300
            except httpx.HTTPError as exc:
                log.error("alert %s to %s failed: %s", rule, kind, exc)
                ok = False
            ALERTS_SENT.labels(rule, "ok" if ok else "error").inc()
            delivered += int(ok)
        return delivered

    def close(self) -> None:
        self.client.close()


@dataclass(frozen=True)
class FallbackReading:
    requests: float
    fallbacks: dict[str, float]

    @property
    def rate(self) -> float:
        return sum(self.fallbacks.values()) / self.requests if self.requests else 0.0

    def rate_of(self, kind: str) -> float:
        return self.fallbacks.get(kind, 0.0) / self.requests if self.requests else 0.0


class FallbackRate:
    """Fallbacks per model-serving request since the previous ``read``."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.registry = registry
        self._last: tuple[float, dict[str, float]] | None = None

    def _totals(self) -> tuple[float, dict[str, float]]:
        requests = 0.0
        fallbacks: dict[str, float] = {}
        for family in self.registry.collect():
            if family.name == "agora_fallbacks":
                for sample in family.samples:
                    if sample.name.endswith("_total"):
                        kind = sample.labels.get("kind", "")
                        fallbacks[kind] = fallbacks.get(kind, 0.0) + sample.value
            elif family.name == "agora_http_request_duration_seconds":
                for sample in family.samples:
                    if sample.name.endswith("_count") and ML_ROUTES.match(
                        sample.labels.get("route", "")
                    ):
                        requests += sample.value
        return requests, fallbacks

    def read(self) -> FallbackReading:
        requests, fallbacks = self._totals()
        last_requests, last_fallbacks = self._last or (0.0, {})
        self._last = (requests, fallbacks)
        return FallbackReading(
            requests - last_requests,
            {k: v - last_fallbacks.get(k, 0.0) for k, v in fallbacks.items()},
        )
