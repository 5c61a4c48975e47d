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

``FallbackRate`` reads the per-request fallback counters (requests that fell
back and model-serving requests, by surface: :mod:`agora.ops.fallbacks`) of
every process and reports the rate since the previous check; the rules file in
``deploy/`` computes the same ratio in Prometheus.

Example:
    >>> notifier = AlertNotifier(settings.mlops)  # doctest: +SKIP
    >>> notifier.send("drift", "pCTR inputs drifted", {"features": ["price"]})  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client import CollectorRegistry

from agora.config import MlopsSettings
from agora.mlops.alert_rules import ErrorRate
from agora.ops.metrics import ALERTS_SENT, metrics_registry

log = logging.getLogger("agora.mlops.alerts")


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
    """Model-serving requests and those that fell back, by surface, over one period;
    fallbacks by kind (taken anywhere, background jobs included) for the breakdown."""

    requests: dict[str, float]
    fell_back: dict[str, float]
    kinds: dict[str, float]

    @property
    def total(self) -> float:
        """Model-serving requests of every surface."""
        return sum(self.requests.values())

    @property
    def rate(self) -> float:
        """Share of requests that fell back, every surface together (0 without requests)."""
        fell_back = sum(min(self.fell_back.get(k, 0.0), n) for k, n in self.requests.items())
        return fell_back / self.total if self.total else 0.0

    def rate_of(self, surface: str) -> float:
        """Share of ``surface``'s requests that fell back, in [0, 1]."""
        n = self.requests.get(surface, 0.0)
        # A read can fall between a request's two increments: never report above 100%.
        return min(self.fell_back.get(surface, 0.0), n) / n if n else 0.0


_SERVED = "agora_served_requests_total"
_FELL_BACK = "agora_fallback_requests_total"
_KINDS = "agora_fallbacks_total"


class FallbackRate:
    """Share of model-serving requests that fell back since the previous ``read``.

    Reads the per-request counters of :mod:`agora.ops.fallbacks` (every worker
    process's in multiprocess mode): a request counts once however many
    fallbacks it took, so the rate never exceeds 100%.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry
        self._last: dict[str, dict[str, float]] = {}

    def _totals(self) -> dict[str, dict[str, float]]:
        totals: dict[str, dict[str, float]] = {_SERVED: {}, _FELL_BACK: {}, _KINDS: {}}
        registry = self.registry if self.registry is not None else metrics_registry()
        for family in registry.collect():
            for sample in family.samples:
                found = totals.get(sample.name)
                if found is not None:
                    label = sample.labels.get("surface", sample.labels.get("kind", ""))
                    found[label] = found.get(label, 0.0) + sample.value
        return totals

    def read(self) -> FallbackReading:
        totals = self._totals()
        last, self._last = self._last, totals

        def delta(name: str) -> dict[str, float]:
            before = last.get(name, {})
            # A counter below its last value was reset (a restart): all of it is new.
            moved = {
                k: v - before.get(k, 0.0) if v >= before.get(k, 0.0) else v
                for k, v in totals[name].items()
            }
            return {k: v for k, v in moved.items() if v > 0}  # only what moved in the window

        return FallbackReading(delta(_SERVED), delta(_FELL_BACK), delta(_KINDS))


@dataclass(frozen=True)
class Alerting:
    """One process's notifier (it de-duplicates, so there is one) and the fallback-
    and error-rate readers (each remembers its last reading)."""

    notifier: AlertNotifier
    fallbacks: FallbackRate
    errors: ErrorRate
