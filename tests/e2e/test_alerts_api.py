"""``/api/v1/alerts`` (list with filters and pages, one alert, acknowledge: write
scope, audited) and ``/api/v1/models/{name}/drift/history``; bad input is
problem+json; the Python client reads the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from fastapi.testclient import TestClient

from agora.client import Client
from agora.mlops.alert_store import Condition
from agora.mlops.drift import DriftReference
from agora.runtime import Platform

PROBLEM = "application/problem+json"
T0 = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _raise_some(platform: Platform) -> list[int]:
    alerts = platform.alerts
    ids = [
        alerts.report("drift", [Condition("ranking-pctr", "warning", "drift", 0.41, 0.2)]),
        alerts.report("job_failed", [Condition("train.ctr", "error", "the last run failed")]),
        alerts.report("queue_backlog", [Condition("a/p", "warning", "1200 waiting", 1200, 1000)]),
    ]
    alerts.report("queue_backlog", [])  # the backlog cleared
    return [u.opened[0].id for u in ids]


def test_alerts_are_listed_filtered_and_paged(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    drift, failed, backlog = _raise_some(platform)
    read = _auth(tokens["read"])
    r = client.get("/api/v1/alerts", headers=read)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [a["id"] for a in items] == [backlog, failed, drift]
    assert items[0]["state"] == "resolved" and items[0]["resolved_at"] is not None
    assert items[2]["kind"] == "drift" and items[2]["value"] == 0.41
    assert items[2]["threshold"] == 0.2 and items[2]["first_seen"].endswith("Z")
    opened = client.get("/api/v1/alerts", params={"state": "open"}, headers=read).json()
    assert [a["id"] for a in opened["items"]] == [failed, drift]
    by_kind = client.get("/api/v1/alerts", params={"kind": "drift"}, headers=read).json()
    assert [a["subject"] for a in by_kind["items"]] == ["ranking-pctr"]
    errors = client.get("/api/v1/alerts", params={"severity": "error"}, headers=read).json()
    assert [a["id"] for a in errors["items"]] == [failed]
    first = client.get("/api/v1/alerts", params={"limit": 2}, headers=read).json()
    rest = client.get(
        "/api/v1/alerts", params={"limit": 2, "cursor": first["next_cursor"]}, headers=read
    ).json()
    assert [a["id"] for a in first["items"] + rest["items"]] == [backlog, failed, drift]
    assert rest["next_cursor"] is None
    one = client.get(f"/api/v1/alerts/{drift}", headers=read)
    assert one.status_code == 200 and one.json()["subject"] == "ranking-pctr"

    for params in ({"state": "gone"}, {"severity": "loud"}, {"limit": 0}, {"cursor": "x" * 40}):
        bad = client.get("/api/v1/alerts", params=params, headers=read)
        assert bad.status_code == 422, params
        assert bad.headers["content-type"].startswith(PROBLEM)
    tampered = client.get("/api/v1/alerts", params={"cursor": "abc"}, headers=read)
    assert tampered.status_code in (400, 422) and tampered.headers["content-type"].startswith(
        PROBLEM
    )
    missing = client.get("/api/v1/alerts/999999", headers=read)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(PROBLEM)
    assert client.get("/api/v1/alerts").status_code == 401


def test_an_alert_is_acknowledged_with_the_key_and_audited(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    drift, failed, backlog = _raise_some(platform)
    refused = client.post(f"/api/v1/alerts/{drift}/ack", headers=_auth(tokens["read"]))
    assert refused.status_code == 403 and refused.headers["content-type"].startswith(PROBLEM)
    write = _auth(tokens["write"])
    r = client.post(f"/api/v1/alerts/{drift}/ack", json={"note": "retraining"}, headers=write)
    assert r.status_code == 200, r.text
    acked = r.json()
    key_id = tokens["write"].split("_", 2)[1]
    assert acked["acknowledged"] and acked["acked_by"] == f"key:{key_id}"
    assert acked["ack_note"] == "retraining" and acked["state"] == "open"
    # Again, without a body: nothing changes, nothing more is audited.
    again = client.post(f"/api/v1/alerts/{drift}/ack", headers=_auth(tokens["admin"])).json()
    assert again["acked_by"] == f"key:{key_id}" and again["acked_at"] == acked["acked_at"]
    entries = platform.audit.query(action="alert.acknowledged").entries
    assert [(e.actor, e.subject_id) for e in entries] == [(f"key:{key_id}", str(drift))]
    listed = client.get(
        "/api/v1/alerts", params={"acknowledged": "true"}, headers=_auth(tokens["read"])
    ).json()
    assert [a["id"] for a in listed["items"]] == [drift]
    for body in ({"note": "x" * 501}, {"nope": 1}):
        bad = client.post(f"/api/v1/alerts/{drift}/ack", json=body, headers=write)
        assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM)
    assert client.post("/api/v1/alerts/999999/ack", headers=write).status_code == 404

    sdk = Client(api_key=tokens["read"], http=client)
    page = sdk.alerts.page(kind="drift")
    assert [a.id for a in page.items] == [drift] and page.items[0].acknowledged
    assert [a.id for a in sdk.alerts.iterate(page_size=1)] == [backlog, failed, drift]
    assert sdk.alerts.get(failed).kind == "job_failed"
    acked = Client(api_key=tokens["write"], http=client).alerts.acknowledge(failed, note="rerun")
    assert acked.acked_by is not None and acked.ack_note == "rerun"


def test_the_drift_history_is_served_per_feature(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    rng = np.random.default_rng(1)
    reference = DriftReference.fit(rng.normal(size=(1000, 2)), ["log_price", "score"])
    for i, shift in enumerate([0.0, 1.0]):
        current = rng.normal(size=(1000, 2)) + np.array([shift, 0.0])
        platform.drift_history.record(
            "ranking-pctr", "2", reference.compare(current), at=T0 + timedelta(hours=i)
        )
    read = _auth(tokens["read"])
    r = client.get("/api/v1/models/ranking-pctr/drift/history", headers=read)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "ranking-pctr" and len(body["checks"]) == 2
    before, after = body["checks"]
    assert before["measured_at"] == "2026-12-08T01:00:00Z" and after["version"] == "2"
    price = [c["features"][0] for c in body["checks"]]
    assert [p["name"] for p in price] == ["log_price", "log_price"]
    assert price[1]["psi"] > 0.2 > price[0]["psi"] and price[1]["drifted"]
    assert price[1]["ks_statistic"] > price[0]["ks_statistic"] and price[1]["ks_pvalue"] < 0.05
    assert after["n_drifted"] >= 1 and after["n_current"] == 1000
    since = client.get(
        "/api/v1/models/ranking-pctr/drift/history",
        params={"since": "2026-12-08T01:30:00Z", "limit": 5},
        headers=read,
    ).json()
    assert [c["measured_at"] for c in since["checks"]] == ["2026-12-08T02:00:00Z"]
    latest = client.get(
        "/api/v1/models/ranking-pctr/drift/history", params={"limit": 1}, headers=read
    ).json()
    assert [c["measured_at"] for c in latest["checks"]] == ["2026-12-08T02:00:00Z"]
    unknown = client.get("/api/v1/models/nobody/drift/history", headers=read)
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith(PROBLEM)
    bad = client.get("/api/v1/models/ranking-pctr/drift/history", params={"limit": 0}, headers=read)
    assert bad.status_code == 422
    history = Client(api_key=tokens["read"], http=client).models.drift_history(
        "ranking-pctr", limit=1
    )
    assert history.checks[0].features[0].name == "log_price"
