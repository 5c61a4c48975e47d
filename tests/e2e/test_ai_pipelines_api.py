"""Seed 003's ``/api/v1/ai-pipelines`` routes and algorithm names over HTTP, on the
embedded platform: the same answers as Agora's own routes, real cache filling
with progress, a draining shutdown and a restart."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from agora.api.app import create_app
from agora.mlops.tasks import DEFAULT_TASKS, TaskContext, TaskRegistry
from agora.recommend.jobs import refresh_trending, train
from agora.recommend.tasks import job_services
from agora.recommend.testing import seed_catalog
from agora.runtime import Platform
from agora.storage.tables import InteractionRow
from agora.testing.api import bearer
from agora.testing.wait import wait_until

NOW = datetime.now(UTC)
AI = "/api/v1/ai-pipelines"


def _trained(platform: Platform) -> None:
    seed_catalog(platform.db, NOW)
    # u0 becomes an "engaged" user (10+ events); every other seeded user is "casual".
    with platform.db.session() as s, s.begin():
        for k in range(6):
            s.add(
                InteractionRow(
                    event_id=f"x{k}",
                    user_id="u0",
                    asset_id=f"a{3 * k}",
                    type="view",
                    ts=NOW - timedelta(hours=2 + k),
                )
            )
    services = job_services(platform)
    train(services, tune=False)
    refresh_trending(services)


def _problem(r: Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    return body


def _without_cached(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "cached"}


def test_seed_algorithm_names_are_served_and_documented(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    _trained(platform)
    h = bearer(tokens["read"])
    als = client.get("/api/v1/recommendations/u1?n=5&algorithm=als", headers=h).json()
    seed = client.get("/api/v1/recommendations/u1?n=5&algorithm=collaborative", headers=h)
    assert seed.status_code == 200, seed.text
    # The same list under one name: the seed name hits the list `als` cached.
    assert seed.json()["cached"] is True and seed.json()["items"] == als["items"]
    assert seed.json()["requested_algorithm"] == "als"
    content = client.get("/api/v1/recommendations/u1?n=5&algorithm=content_based", headers=h)
    assert content.status_code == 200 and content.json()["requested_algorithm"] == "content"
    for name in ("hybrid", "trending", "smart"):
        r = client.get(f"/api/v1/recommendations/u1?n=5&algorithm={name}", headers=h)
        assert r.status_code == 200 and r.json()["requested_algorithm"] == name
    for name in ("transformer", "neural_cf", "graph"):  # seed 003's models, as named
        r = client.get(f"/api/v1/recommendations/u1?n=5&algorithm={name}", headers=h)
        assert r.status_code == 200 and r.json()["requested_algorithm"] == name
        posted = client.post(
            f"{AI}/recommendations", json={"user_id": "u1", "algorithm": name}, headers=h
        )
        assert posted.status_code == 200 and posted.json()["requested_algorithm"] == name
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    algorithm = schema["RecommendRequest"]["properties"]["algorithm"]
    assert algorithm["x-aliases"] == {"collaborative": "als", "content_based": "content"}
    enum = set(algorithm.get("enum") or next(a["enum"] for a in algorithm["anyOf"]))
    assert {"collaborative", "content_based", "transformer", "neural_cf", "graph"} <= enum
    assert "`collaborative` is served by `als`" in algorithm["description"]


def test_post_recommendations_answers_what_get_answers(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    _trained(platform)
    h = bearer(tokens["read"])
    # Session lists are never cached: both routes compute, and answer the same.
    views = ["a1", "a4"]
    query = "&".join(f"session_views={v}" for v in views)
    got = client.get(f"/api/v1/recommendations/u2?n=6&algorithm=ease&{query}", headers=h)
    posted = client.post(
        f"{AI}/recommendations",
        json={"user_id": "u2", "limit": 6, "algorithm": "ease", "session_views": views},
        headers=h,
    )
    assert got.status_code == posted.status_code == 200, posted.text
    assert posted.json() == got.json() and len(got.json()["items"]) == 6
    # A cached list: GET computes it, then GET and POST both hit it.
    for algorithm, category in (("hybrid", None), ("collaborative", "audio")):
        url = f"/api/v1/recommendations/u3?n=4&algorithm={algorithm}"
        url += f"&category={category}" if category else ""
        client.get(url, headers=h)
        got = client.get(url, headers=h).json()
        body = {"user_id": "u3", "limit": 4, "algorithm": algorithm, "category": category}
        r = client.post(f"{AI}/recommendations", json=body, headers=h)
        assert r.status_code == 200 and r.json() == got and got["cached"] is True
    # The seed's default algorithm is hybrid.
    default = client.post(f"{AI}/recommendations", json={"user_id": "u3"}, headers=h).json()
    assert default["requested_algorithm"] == "hybrid" and len(default["items"]) == 10
    # Batch: as recommendations:batch answers, request by request.
    asks = [
        ("u4", 3, "ease", None),
        ("u5", 2, "content_based", "audio"),
        ("new-user", 2, "smart", None),
    ]
    agora = client.post(
        "/api/v1/recommendations:batch",
        json={
            "requests": [
                {"user_id": u, "n": n, "algorithm": a, "category": c} for u, n, a, c in asks
            ]
        },
        headers=h,
    )
    seed = client.post(
        f"{AI}/recommendations/batch",
        json={
            "requests": [
                {"user_id": u, "limit": n, "algorithm": a, "category": c} for u, n, a, c in asks
            ]
        },
        headers=h,
    )
    assert agora.status_code == seed.status_code == 200, seed.text
    ours = [_without_cached(x) for x in seed.json()["results"]]
    theirs = [_without_cached(x) for x in agora.json()["results"]]
    # `smart` draws from the bandit per request; the other lists are the same lists.
    assert ours[:2] == theirs[:2] and [x["index"] for x in ours] == [0, 1, 2]
    assert all(x["ok"] for x in ours) and len(ours[1]["items"]) == 2
    # Bad input: problem+json.
    for bad in (
        {"user_id": "u1", "limit": 0},
        {"user_id": "u1", "algorithm": "magic"},
        {"user_id": "u1", "n": 5},
        {"limit": 5},
        {"user_id": "u1", "session_views": [f"a{i}" for i in range(51)]},
    ):
        _problem(client.post(f"{AI}/recommendations", json=bad, headers=h), 422)
    _problem(client.post(f"{AI}/recommendations/batch", json={"requests": []}, headers=h), 422)
    many = {"requests": [{"user_id": "u1"}] * 101}
    _problem(client.post(f"{AI}/recommendations/batch", json=many, headers=h), 422)
    _problem(client.post(f"{AI}/recommendations", json={"user_id": "u1"}), 401)


def test_precompute_and_cache_warm_fill_the_cache_with_progress(
    client: TestClient, platform: Platform, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _trained(platform)
    admin, reader = bearer(tokens["admin"]), bearer(tokens["read"])
    reports: list[float] = []
    progress = platform.jobs.progress
    monkeypatch.setattr(
        platform.jobs, "progress", lambda j, p, m=None: (reports.append(p), progress(j, p, m))
    )
    body = {
        "user_ids": ["u1", "u2", "u3"],
        "algorithms": ["collaborative", "hybrid"],
        "priority": 7,
    }
    r = client.post(f"{AI}/pipelines/recommendation-precompute", json=body, headers=admin)
    assert r.status_code == 202, r.text
    assert set(r.json()) == {"task_id", "status"} and r.json()["status"] == "queued"
    task_id = r.json()["task_id"]
    queued = client.get(f"{AI}/pipelines/{task_id}", headers=reader).json()
    assert queued["status"] == "queued" and queued["progress"] == 0 and queued["priority"] == 7
    assert platform.orchestrator().run_until_idle() == 1
    done = client.get(f"{AI}/pipelines/{task_id}", headers=reader).json()
    assert done["status"] == "succeeded" and done["progress"] == 100.0, done
    assert done["name"] == "recommend_precompute" and done["params"]["algorithms"] == [
        "als",
        "hybrid",
    ]
    assert done["started_at"] and done["finished_at"] and done["created_at"]
    assert done["result"]["users"] == 3 and done["result"]["served_lists"] == 6
    assert reports == sorted(reports) and any(0 < p < 100 for p in reports)
    for user in ("u1", "u2", "u3"):  # the next request is a cache hit
        for algorithm in ("als", "collaborative", "hybrid"):
            got = client.get(
                f"/api/v1/recommendations/{user}?algorithm={algorithm}", headers=reader
            )
            assert got.json()["cached"] is True, (user, algorithm)
    assert (
        client.get("/api/v1/recommendations/u4?algorithm=hybrid", headers=reader).json()["cached"]
        is False
    )

    # Cache warm of one segment: only u0 is engaged.
    r = client.post(f"{AI}/pipelines/cache-warm", json={"segments": ["engaged"]}, headers=admin)
    assert r.status_code == 202, r.text
    assert platform.orchestrator().run_until_idle() == 1
    warm = client.get(f"{AI}/pipelines/{r.json()['task_id']}", headers=reader).json()
    assert warm["status"] == "succeeded" and warm["progress"] == 100.0
    assert warm["result"] | {"duration_s": 0} == {
        "users": 1,
        "lists": 1,
        "cold": 1,
        "fallbacks": 0,
        "duration_s": 0,
    }
    assert client.get("/api/v1/recommendations/u0?algorithm=hybrid", headers=reader).json()[
        "cached"
    ]
    assert not client.get("/api/v1/recommendations/u9?algorithm=hybrid", headers=reader).json()[
        "cached"
    ]
    # Every active user (all casual but u0), then again: already warm lists are kept.
    for cold in (40, 0):
        r = client.post(f"{AI}/pipelines/cache-warm", json={"limit": 5}, headers=admin)
        platform.orchestrator().run_until_idle()
        result = client.get(f"{AI}/pipelines/{r.json()['task_id']}", headers=reader).json()[
            "result"
        ]
        assert result["users"] == 40 and result["lists"] == 40 and result["cold"] == cold
    # The scheduled job's form (no body fields): every served model's candidate lists.
    r = client.post(f"{AI}/pipelines/recommendation-precompute", json={}, headers=admin)
    platform.orchestrator().run_until_idle()
    plain = client.get(f"{AI}/pipelines/{r.json()['task_id']}", headers=reader).json()
    assert plain["status"] == "succeeded" and plain["result"]["users"] == 40
    # Filters of the task list, by seed pipeline type or task name.
    tasks = client.get(f"{AI}/orchestrator/tasks?type=cache-warm", headers=reader).json()["tasks"]
    assert len(tasks) == 3 and {t["kind"] for t in tasks} == {"task:cache_warm"}
    agora = client.get(
        "/api/v1/orchestrator/tasks?type=recommend_precompute&status=succeeded", headers=reader
    )
    assert len(agora.json()["tasks"]) == 2
    _problem(client.get(f"{AI}/orchestrator/tasks?type=nope", headers=reader), 422)
    _problem(client.get(f"{AI}/orchestrator/tasks?status=nope", headers=reader), 422)

    # Bad input, refused before anything is queued.
    for path, bad, status in (
        ("recommendation-precompute", {"algorithms": ["smart"]}, 422),
        ("recommendation-precompute", {"algorithms": ["magic"]}, 422),
        ("recommendation-precompute", {"priority": 11}, 422),
        ("recommendation-precompute", {"user_ids": "u1"}, 422),
        ("cache-warm", {"segments": ["vip"]}, 422),
        ("cache-warm", {"segments": []}, 422),
        ("cache-warm", {"when": "now"}, 422),
    ):
        _problem(client.post(f"{AI}/pipelines/{path}", json=bad, headers=admin), status)
    _problem(client.post(f"{AI}/pipelines/cache-warm", json={}, headers=reader), 403)
    assert client.get(f"{AI}/orchestrator/status", headers=reader).json()["counts"]["queued"] == 0


def test_cancel_a_queued_task_and_not_a_finished_one(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    admin = bearer(tokens["admin"])
    queued = client.post(f"{AI}/pipelines/cache-warm", json={}, headers=admin).json()["task_id"]
    r = client.post(f"{AI}/pipelines/{queued}/cancel", headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["finished_at"]
    problem = _problem(client.post(f"{AI}/pipelines/{queued}/cancel", headers=admin), 409)
    assert "already cancelled" in problem["detail"]
    done = client.post(f"{AI}/pipelines/cache-warm", json={}, headers=admin).json()["task_id"]
    platform.orchestrator().run_until_idle()
    assert client.get(f"{AI}/pipelines/{done}", headers=admin).json()["status"] == "succeeded"
    _problem(client.post(f"{AI}/pipelines/{done}/cancel", headers=admin), 409)
    _problem(
        client.post(f"/api/v1/pipelines/{done}/cancel", headers=admin), 409
    )  # one implementation
    _problem(client.post(f"{AI}/pipelines/nope/cancel", headers=admin), 404)
    _problem(client.get(f"{AI}/pipelines/nope", headers=admin), 404)
    _problem(client.post(f"{AI}/pipelines/{done}/cancel", headers=bearer(tokens["read"])), 403)


# A task that runs until the test lets it finish (``test.block``).
_entered, _release = threading.Event(), threading.Event()


def blocking_task(platform: Platform, ctx: TaskContext) -> dict[str, str]:
    """Runs until ``_release`` is set."""
    _entered.set()
    if not _release.wait(60):
        raise TimeoutError("the test never released the task")
    ctx.progress(100)
    return {"released": "yes"}


def test_shutdown_drains_refuses_new_tasks_and_the_platform_starts_again(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    admin, reader = bearer(tokens["admin"]), bearer(tokens["read"])
    _entered.clear()
    _release.clear()
    # The workers' runners: another orchestrator of the same process than the API's.
    runners = platform.orchestrator(
        TaskRegistry({**DEFAULT_TASKS, "test.block": f"{__name__}:blocking_task"})
    )
    running = runners.submit("test.block")
    runners.start()
    try:
        assert _entered.wait(30), "the runner never started the task"
        status = client.get(f"{AI}/orchestrator/status", headers=reader).json()
        assert status["accepting_tasks"] is True and status["running_in_this_process"] == [running]
        answers: list[Response] = []
        shutdown = threading.Thread(
            target=lambda: answers.append(client.post(f"{AI}/orchestrator/shutdown", headers=admin))
        )
        shutdown.start()
        wait_until(
            lambda: not platform.task_admission.accepting(), timeout_s=30, what="the door closing"
        )
        # Draining: new tasks are refused, by either API; the shutdown has not answered.
        for path in (f"{AI}/pipelines/cache-warm", "/api/v1/pipelines/alert_check"):
            problem = _problem(client.post(path, json={}, headers=admin), 409)
            assert "shut down" in problem["detail"]
        timed_out = client.post(
            "/api/v1/orchestrator/shutdown", json={"timeout_s": 0}, headers=admin
        ).json()
        assert timed_out["status"] == "timeout" and timed_out["still_running"] == [running]
        assert shutdown.is_alive() and not answers
        status = client.get(f"{AI}/orchestrator/status", headers=reader).json()
        assert status["accepting_tasks"] is False and status["counts"]["running"] == 1
        _release.set()
        shutdown.join(60)
        assert not shutdown.is_alive()
        (answer,) = answers
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "drained" and answer.json()["still_running"] == []
        assert answer.json()["accepting_tasks"] is False
        task = client.get(f"{AI}/pipelines/{running}", headers=reader).json()
        assert task["status"] == "succeeded" and task["result"]["released"] == "yes"
        assert runners.run_until_idle() == 0  # a shut-down process claims nothing
        _problem(client.post(f"{AI}/orchestrator/shutdown", headers=reader), 403)
        _problem(
            client.post(f"{AI}/orchestrator/shutdown", json={"timeout_s": -1}, headers=admin), 422
        )
    finally:
        _release.set()
        runners.stop()
    # A restart of the platform's app takes tasks again and runs them.
    with TestClient(create_app(platform, start_background=False)) as again:
        assert again.get(f"{AI}/orchestrator/status", headers=reader).json()["accepting_tasks"]
        r = again.post(f"{AI}/pipelines/cache-warm", json={}, headers=admin)
        assert r.status_code == 202, r.text
        assert platform.orchestrator().run_until_idle() == 1
        done = again.get(f"{AI}/pipelines/{r.json()['task_id']}", headers=reader).json()
        assert done["status"] == "succeeded"


def test_seed_scheduler_routes(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    admin, reader = bearer(tokens["admin"]), bearer(tokens["read"])
    seed_jobs = [
        (
            {"job_id": "warm", "task": "warm_cache", "trigger": "interval", "minutes": 30},
            "cache_warm",
            "every 30m",
        ),
        (
            {
                "job_id": "pre",
                "task": "precompute_recommendations",
                "trigger": "interval",
                "hours": 2,
                "args": {"n": 5},
            },
            "recommend_precompute",
            "every 2h",
        ),
        (
            {"job_id": "nightly", "task": "train.ctr", "trigger": "cron", "cron": "0 3 * * *"},
            "train.ctr",
            "0 3 * * *",
        ),
    ]
    for body, task, schedule in seed_jobs:
        r = client.post(f"{AI}/scheduler/schedule", json=body, headers=admin)
        assert r.status_code == 201, r.text
        assert (r.json()["id"], r.json()["task"], r.json()["schedule"]) == (
            body["job_id"],
            task,
            schedule,
        )
    jobs = {j["id"]: j for j in client.get(f"{AI}/scheduler/jobs", headers=reader).json()["jobs"]}
    assert jobs["pre"]["params"] == {"n": 5} and jobs["nightly"]["next_run_at"].endswith(
        "03:00:00Z"
    )
    assert {"warm", "pre", "nightly", "cache_warm", "trending"} <= set(jobs)  # with the defaults
    assert client.post(f"{AI}/scheduler/jobs/warm/pause", headers=admin).json()["paused"] is True
    assert client.post(f"{AI}/scheduler/jobs/warm/resume", headers=admin).json()["paused"] is False
    deleted = client.delete(f"{AI}/scheduler/jobs/warm", headers=admin).json()
    assert deleted == {"id": "warm", "deleted": True}
    ids = [j["id"] for j in client.get("/api/v1/scheduler/jobs", headers=reader).json()["jobs"]]
    assert "warm" not in ids and "pre" in ids  # the same scheduler behind both APIs
    for job_id in ("warm", "nope"):
        _problem(client.post(f"{AI}/scheduler/jobs/{job_id}/pause", headers=admin), 404)
        _problem(client.post(f"{AI}/scheduler/jobs/{job_id}/resume", headers=admin), 404)
        _problem(client.delete(f"{AI}/scheduler/jobs/{job_id}", headers=admin), 404)
    # A due seed job becomes a task with its args.
    scheduler = platform.scheduler()
    submitted = scheduler.tick(now=datetime.now(UTC) + timedelta(hours=3))
    tasks = [platform.jobs.get(j) for j in submitted]
    assert any(t["kind"] == "task:recommend_precompute" and t["params"] == {"n": 5} for t in tasks)
    # Bad input: problem+json.
    base = {"job_id": "x", "task": "warm_cache"}
    for bad, status in (
        (base | {"trigger": "cron", "cron": "not a cron"}, 422),
        (base | {"trigger": "cron", "cron": "61 * * * *"}, 422),
        (base | {"trigger": "interval"}, 422),
        (base | {"trigger": "interval", "minutes": 5, "hours": 1}, 422),
        (base | {"trigger": "interval", "minutes": 0}, 422),
        (base | {"trigger": "interval", "minutes": 5, "cron": "* * * * *"}, 422),
        (base | {"trigger": "cron"}, 422),
        (base | {"trigger": "weekly", "minutes": 5}, 422),
        (base | {"trigger": "interval", "minutes": 5, "priority": 11}, 422),
        (base | {"job_id": "x y", "trigger": "interval", "minutes": 5}, 422),
        ({"job_id": "x", "task": "no-such-task", "trigger": "interval", "minutes": 5}, 404),
        ({"job_id": "nightly", "task": "train.ctr", "trigger": "cron", "cron": "0 4 * * *"}, 409),
    ):
        _problem(client.post(f"{AI}/scheduler/schedule", json=bad, headers=admin), status)
    ok = base | {"trigger": "interval", "minutes": 5}
    _problem(client.post(f"{AI}/scheduler/schedule", json=ok, headers=reader), 403)
