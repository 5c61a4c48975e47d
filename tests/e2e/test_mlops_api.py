"""MLOps over HTTP and the CLI: rollback in one call, pipelines, scheduler, orchestrator."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from agora.cli.main import app as cli
from agora.runtime import Platform

M = "demo-clf"


def _three_champions(platform: Platform) -> None:
    for i in (1, 2, 3):
        platform.models.save(M, {"w": i}, metrics={"f1": 0.5 + i / 10})
    for v in ("1", "2", "3"):
        platform.model_registry.promote(M, v, actor="test", reason=f"release {v}")


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_rollback_is_one_api_call_and_the_next_request_sees_it(
    platform: Platform, client: TestClient, tokens: dict[str, str]
) -> None:
    _three_champions(platform)
    admin, reader = _h(tokens["admin"]), _h(tokens["read"])
    assert (
        client.get(f"/api/v1/models/{M}/serving?user_id=u1", headers=reader).json()["version"]
        == "3"
    )
    assert client.post(f"/api/v1/models/{M}/rollback", headers=reader).status_code == 403
    r = client.post(f"/api/v1/models/{M}/rollback", json={"reason": "f1 fell"}, headers=admin)
    assert r.status_code == 200 and r.json()["champion"] == "2"
    served = client.get(f"/api/v1/models/{M}/serving?user_id=u1", headers=reader).json()
    assert (served["model"], served["version"], served["role"]) == (f"{M}@2", "2", "champion")
    assert served["served"] and served["served_by"] is None  # no Agora capability loads it
    history = client.get(f"/api/v1/models/{M}/history", headers=reader).json()["history"]
    last = history[-1]
    assert last["action"] == "rollback" and last["version"] == "2"
    assert last["previous_version"] == "3" and last["reason"] == "f1 fell"
    assert last["actor"].startswith("key:")
    # Rolling back again walks further back; then there is nothing left.
    assert client.post(f"/api/v1/models/{M}/rollback", headers=admin).json()["champion"] == "1"
    r = client.post(f"/api/v1/models/{M}/rollback", headers=admin)
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.process
def test_rollback_is_one_cli_command(platform: Platform, tmp_path: Path) -> None:
    _three_champions(platform)
    data_dir = platform.settings.data_dir
    result = CliRunner().invoke(
        cli, ["--data-dir", str(data_dir), "models", "rollback", M, "--reason", "bad release"]
    )
    assert result.exit_code == 0, result.output
    assert platform.serving.serving_version(M, "u1").ref.version == "2"
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "models", "history", M])
    assert "rollback\t2 (was 3)" in result.output and "bad release" in result.output


def test_canary_and_promotion_routes_validate_input(
    platform: Platform, client: TestClient, tokens: dict[str, str]
) -> None:
    _three_champions(platform)
    admin = _h(tokens["admin"])
    r = client.post(
        f"/api/v1/models/{M}/challenger", json={"version": "2", "canary_share": 2}, headers=admin
    )
    assert r.status_code == 422
    json_type = {**admin, "Content-Type": "application/json"}
    r = client.post(f"/api/v1/models/{M}/challenger", content=b"{not json", headers=json_type)
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    for bad in (
        {"version": "1", "reason": "x" * 2001},
        {"version": "one"},
        {"reason": "no version"},
        {"version": "1", "canary_share": "half"},
        {"version": "1", "share": 0.1},  # a typo is refused, not ignored
    ):
        r = client.post(f"/api/v1/models/{M}/challenger", json=bad, headers=admin)
        assert r.status_code == 422, bad
        assert r.headers["content-type"] == "application/problem+json" and r.json()["errors"]
    r = client.post(f"/api/v1/models/{M}/promote", json={"version": 2, "extra": 1}, headers=admin)
    assert r.status_code == 422
    r = client.post(f"/api/v1/models/{M}/challenger", json={"version": "9"}, headers=admin)
    assert r.status_code == 404
    r = client.post(
        f"/api/v1/models/{M}/challenger", json={"version": "1", "canary_share": 1.0}, headers=admin
    )
    assert r.status_code == 200 and r.json()["challenger"] == "1"
    assert client.get(f"/api/v1/models/{M}/serving?user_id=x", headers=admin).json()["role"] == (
        "challenger"
    )
    assert (
        client.post(f"/api/v1/models/{M}/canary/abort", headers=admin).json()["challenger"] is None
    )
    assert client.get("/api/v1/models/nope/serving", headers=admin).status_code == 404
    r = client.post(f"/api/v1/models/{M}/promote", json={"version": 1}, headers=admin)
    assert r.status_code == 200 and r.json()["champion"] == "1"  # a number is a version too


def test_pipelines_orchestrator_and_scheduler_endpoints(
    platform: Platform, client: TestClient, tokens: dict[str, str]
) -> None:
    admin, reader = _h(tokens["admin"]), _h(tokens["read"])
    names = {
        p["name"]: p for p in client.get("/api/v1/pipelines", headers=reader).json()["pipelines"]
    }
    assert names["train.ctr"]["available"] and names["trigger_check"]["available"]
    assert client.post("/api/v1/pipelines/no-such-task", headers=admin).status_code == 404
    for bad in ({"priority": 11}, {"priority": "high"}, {"params": [1]}, {"prio": 1}):
        r = client.post("/api/v1/pipelines/alert_check", json=bad, headers=admin)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    low = client.post("/api/v1/pipelines/alert_check", json={"priority": 1}, headers=admin).json()
    high = client.post("/api/v1/pipelines/trigger_check", json={"priority": 9}, headers=admin)
    assert high.status_code == 202 and high.json()["status"] == "queued"
    cancelled = client.post("/api/v1/pipelines/alert_check", headers=admin).json()["task_id"]
    r = client.post(f"/api/v1/pipelines/{cancelled}/cancel", headers=admin)
    assert r.json()["status"] == "cancelled"
    status = client.get("/api/v1/orchestrator/status", headers=reader).json()
    assert status["counts"]["queued"] == 2 and status["counts"]["cancelled"] == 1
    orchestrator = platform.orchestrator()
    first = orchestrator.claim()
    assert first is not None and first["id"] == high.json()["task_id"]  # priority order
    orchestrator.run_job(first)
    assert orchestrator.run_until_idle() == 1
    done = client.get(f"/api/v1/pipelines/{low['task_id']}", headers=reader).json()
    assert done["status"] == "succeeded" and done["percent"] == 100.0
    tasks = client.get("/api/v1/orchestrator/tasks?status=succeeded", headers=reader).json()[
        "tasks"
    ]
    assert len(tasks) == 2
    assert client.get("/api/v1/pipelines/nope", headers=reader).status_code == 404

    jobs = {j["id"]: j for j in client.get("/api/v1/scheduler/jobs", headers=reader).json()["jobs"]}
    assert jobs["cache_warm"]["schedule"] == "every 30m"
    assert jobs["recommend_precompute"]["schedule"] == "every 120m"
    assert jobs["trending"]["schedule"] == "every 1h"
    assert {"drift_check", "trigger_check", "canary_check"} <= set(jobs)
    assert client.post("/api/v1/scheduler/jobs/trending/pause", headers=admin).json()["paused"]
    assert not client.post("/api/v1/scheduler/jobs/trending/resume", headers=admin).json()["paused"]
    assert client.delete("/api/v1/scheduler/jobs/trending", headers=admin).status_code == 200
    ids = [j["id"] for j in client.get("/api/v1/scheduler/jobs", headers=reader).json()["jobs"]]
    assert "trending" not in ids  # and it stays deleted (tombstone), not re-created
    assert client.post("/api/v1/scheduler/jobs/trending/pause", headers=admin).status_code == 404
    r = client.post(
        "/api/v1/scheduler/jobs",
        json={"id": "nightly", "task": "trigger_check", "schedule": "0 3 * * *"},
        headers=admin,
    )
    assert r.status_code == 201 and r.json()["next_run_at"].endswith("03:00:00Z")
    bad = client.post(
        "/api/v1/scheduler/jobs",
        json={"id": "x", "task": "trigger_check", "schedule": "whenever"},
        headers=admin,
    )
    assert bad.status_code == 422
    for body in (
        {"id": "x y", "task": "trigger_check", "schedule": "every 1h"},
        {"id": "x", "task": "trigger_check"},
        {"id": "x", "task": "trigger_check", "schedule": "every 1h", "priority": -1},
        {"id": "x", "task": "trigger_check", "schedule": "every 1h", "when": "now"},
    ):
        r = client.post("/api/v1/scheduler/schedule", json=body, headers=admin)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    r = client.post(
        "/api/v1/scheduler/schedule",
        json={"id": "nightly", "task": "trigger_check", "schedule": "0 4 * * *"},
        headers=admin,
    )
    assert r.status_code == 409  # the id is taken
    deleted = client.delete("/api/v1/scheduler/jobs/nightly", headers=admin).json()
    assert deleted == {"id": "nightly", "deleted": True}
