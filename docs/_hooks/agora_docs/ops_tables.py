"""Operations tables generated from the code and the deploy files: the
Prometheus metrics the package defines, and the alerting and recording rules
in ``deploy/prometheus-rules.yml``.

Example:
    >>> rules = {"groups": [{"rules": [{"alert": "Down", "expr": "up == 0",
    ...          "labels": {"severity": "critical"}, "annotations": {"summary": "gone"}}]}]}
    >>> print(alert_rules_markdown(rules).splitlines()[2])
    | `Down` | critical |  | gone | `up == 0` |
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

from agora_docs.markdown import cell, code, table


def import_metric_modules(package_dir: Path, package: str) -> list[str]:
    """Import every module of ``package`` whose source uses prometheus_client, so
    each metric it defines is registered; returns the module names."""
    names = []
    for path in sorted(package_dir.rglob("*.py")):
        if "prometheus_client" not in path.read_text(encoding="utf-8"):
            continue
        parts = path.relative_to(package_dir).with_suffix("").parts
        name = ".".join((package, *parts)).removesuffix(".__init__")
        importlib.import_module(name)
        names.append(name)
    return names


def metrics_markdown(prefix: str = "agora_") -> str:
    """A table of every registered metric whose name starts with ``prefix``."""
    rows = {}
    for collector in list(REGISTRY._collector_to_names):
        if not isinstance(collector, MetricWrapperBase):
            continue
        for family in collector.describe():
            if family.name.startswith(prefix):
                labels = getattr(collector, "_labelnames", ())
                name = family.name + ("_total" if family.type == "counter" else "")
                rows[name] = [
                    code(name),
                    family.type,
                    ", ".join(code(label) for label in labels),
                    cell(family.documentation),
                ]
    return table(["metric", "type", "labels", "what it measures"], [rows[k] for k in sorted(rows)])


def alert_rules_markdown(rules: dict[str, Any]) -> str:
    """Tables of the alerting rules, then the recording rules, of a Prometheus rule file."""
    alerts, records = [], []
    for group in rules.get("groups", []):
        for rule in group.get("rules", []):
            expr = code(" ".join(str(rule.get("expr", "")).split()))
            if "alert" in rule:
                annotations = rule.get("annotations", {})
                alerts.append(
                    [
                        code(rule["alert"]),
                        cell(rule.get("labels", {}).get("severity", "")),
                        cell(rule.get("for", "")),
                        cell(annotations.get("summary", "")),
                        expr,
                    ]
                )
            elif "record" in rule:
                records.append([code(rule["record"]), expr])
    out = table(["alert", "severity", "for", "summary", "expression"], alerts)
    if records:
        out += "\nRecording rules:\n\n" + table(["series", "expression"], records)
    return out
