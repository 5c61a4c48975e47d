"""Prometheus metrics of malware scanning."""

from __future__ import annotations

from prometheus_client import Counter

SCAN_VERDICTS = Counter(
    "agora_scan_verdicts_total",
    "Assets scanned, by verdict (infected | refused | suspicious | unscanned | clean)",
    ["verdict"],
)
SCAN_ENGINE_ABSENT = Counter(
    "agora_scan_engine_absent_total",
    "Assets scanned while an engine was absent, by engine and what happened "
    "(held | accepted, per scan.when_absent): never silently clean",
    ["engine", "outcome"],
)
SCAN_DETECTIONS = Counter(
    "agora_scan_detections_total", "Signature and rule matches, by engine", ["engine"]
)
