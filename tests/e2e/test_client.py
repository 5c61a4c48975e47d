"""The SDK against the real app: every resource group answers with its typed
schema, errors raise the typed exceptions, pagination walks every page."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from agora.api.app import create_app
from agora.api.schemas.assets import Asset
from agora.client import (
    AsyncClient,
    Client,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailedError,
)
from agora.runtime import Platform
from agora.testing.api import drain_pipeline
from agora.testing.samples import tiny_glb, tiny_png


@pytest.fixture
def app_client(platform: Platform) -> TestClient:
    return TestClient(create_app(platform, start_background=False))


def _sdk(app_client: TestClient, token: str) -> Client:
    return Client(api_key=token, http=app_client)


def test_catalog_round_trip(
    app_client: TestClient, platform: Platform, tokens: dict[str, str], tmp_path: Path
) -> None:
    agora = _sdk(app_client, tokens["write"])
    assert agora.sellers.put("s1", name="Pixel Forge").name == "Pixel Forge"
    image = tmp_path / "tank.png"
    image.write_bytes(tiny_png())
    created = agora.assets.create(
        {"title": "Low-poly tank", "seller_id": "s1", "price": 4.99, "tags": ["tank"]},
        images=[image],
        files=[("tank.glb", tiny_glb())],
    )
    assert created.status == "pending"
    assert drain_pipeline(platform) == 1
    job = agora.jobs.wait(created.job_id, timeout=30)
    assert job.status == "succeeded" and job.percent == 100
    asset = agora.assets.get(created.id)
    assert isinstance(asset, Asset) and asset.status == "active"
    assert agora.assets.image(created.id, 0) == tiny_png()
    steps = {r.step for r in agora.assets.results(created.id).results}
    assert {"integrity", "completeness"} <= steps
    assert agora.assets.update(created.id, {"price": 5.49}).price == 5.49
    result = agora.events.send([{"user_id": "u1", "asset_id": created.id, "type": "view"}])
    assert result.accepted == 1
    assert agora.users.get("u1").id == "u1"


def test_pagination_walks_every_asset(app_client: TestClient, tokens: dict[str, str]) -> None:
    agora = _sdk(app_client, tokens["write"])
    agora.sellers.put("s1", name="S")
    made = agora.assets.import_lines(
        [{"title": f"Sprite {i}", "seller_id": "s1"} for i in range(23)]
    )
    assert made.accepted == 23
    ids = [a.id for a in agora.assets.iterate(page_size=5)]
    assert len(ids) == len(set(ids)) == 23


def test_typed_errors(app_client: TestClient, tokens: dict[str, str]) -> None:
    reader = _sdk(app_client, tokens["read"])
    with pytest.raises(NotFoundError):
        reader.assets.get("missing")
    with pytest.raises(PermissionDeniedError):
        reader.sellers.put("s1", name="no write scope")
    writer = _sdk(app_client, tokens["write"])
    with pytest.raises(ValidationFailedError) as bad:
        writer.jobs.get("x", wait=999)
    assert bad.value.errors


def test_admin_resources(app_client: TestClient, tokens: dict[str, str]) -> None:
    agora = _sdk(app_client, tokens["admin"])
    assert agora.health().status == "ok"
    assert agora.ready().status == "ok"
    assert agora.audit.verify().ok
    entries = list(agora.audit.iterate(page_size=2))
    assert entries and entries[0].seq > entries[-1].seq
    hook = agora.webhooks.create("https://shop.example/hooks", ["asset.processed"])
    assert hook.secret and agora.webhooks.get(hook.id).url == "https://shop.example/hooks"
    agora.webhooks.delete(hook.id)
    assert agora.models.all().models == []
    assert "train.ctr" in {p.name for p in agora.pipelines.all().pipelines}
    assert agora.orchestrator.status() is not None
    assert agora.features.views().views


def test_async_client_against_the_app(platform: Platform, tokens: dict[str, str]) -> None:
    app = create_app(platform, start_background=False)

    async def run() -> tuple[str, int]:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://agora")
        async with AsyncClient(api_key=tokens["write"], http=http) as agora:
            await agora.sellers.put("s2", name="Quick Flip")
            await agora.assets.import_lines([{"title": "Coin", "seller_id": "s2"}])
            seen = [a.id async for a in agora.assets.iterate(page_size=1)]
            return (await agora.sellers.get("s2")).name or "", len(seen)

    assert asyncio.run(run()) == ("Quick Flip", 1)


def test_discovery_and_trust_resources(
    app_client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    agora = _sdk(app_client, tokens["admin"])
    agora.sellers.put("s1", name="Pixel Forge")
    created = agora.assets.create(
        {"title": "Desert tank", "description": "A sand-coloured tank.", "seller_id": "s1"},
        images=[("tank.png", tiny_png())],
    )
    assert drain_pipeline(platform) == 1
    for mode in ("keyword", "semantic", "hybrid"):
        found = agora.search.query("desert tank", mode=mode)
        assert [h.id for h in found.hits] == [created.id], mode
    assert [h.id for h in agora.search.hits("tank", page_size=1)] == [created.id]
    assert agora.search.by_image(tiny_png()).mode == "visual"
    assert agora.search.query("zzzqqqxx").hits == []
    tags = agora.tags.tag(created.id)
    assert tags.asset_id == created.id and tags.tags
    recs = agora.recommendations.for_user("u-new", n=5)
    assert recs.personalized is False and recs.algorithm == "cold_start"
    ranked = agora.search.ranked("tank")
    assert [i.asset_id for i in ranked.items] == [created.id]
    verdict = agora.moderation.analyze_text("Add me on L1NE: pixelshop for a discount")
    assert not verdict.degraded and verdict.matched_rules  # a messaging handle
    assert agora.moderation.queue(limit=5).limit == 5


def test_seed_pipeline_methods(
    app_client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    """The SDK's ``/ai-pipelines`` methods, sync and async: typed answers and errors."""
    from agora.client import ConflictError

    agora = _sdk(app_client, tokens["admin"])
    warm = agora.pipelines.cache_warm(segments=["engaged"], limit=5, priority=6)
    assert warm.status == "queued"
    pre = agora.pipelines.recommendation_precompute(user_ids=["u1"], algorithms=["collaborative"])
    assert platform.orchestrator().run_until_idle() == 2
    done = agora.pipelines.get(pre.task_id)
    assert done.status == "succeeded" and done.progress == 100.0
    assert done.params["algorithms"] == ["als"]
    with pytest.raises(ConflictError):
        agora.pipelines.cancel(warm.task_id)
    assert [t.id for t in agora.orchestrator.tasks(task_type="cache-warm").tasks] == [warm.task_id]
    job = agora.scheduler.schedule(
        {"job_id": "warm", "task": "warm_cache", "trigger": "interval", "minutes": 30}
    )
    assert (job.task, job.schedule) == ("cache_warm", "every 30m")
    with pytest.raises(ValidationFailedError):  # checked by the server: a cron that does not parse
        agora.scheduler.schedule(
            {"job_id": "w", "task": "warm_cache", "trigger": "cron", "cron": "61 * * * *"}
        )

    async def shut_down() -> tuple[str, bool]:
        app = app_client.app
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://agora")
        async with AsyncClient(api_key=tokens["admin"], http=http) as client:
            result = await client.orchestrator.shutdown(timeout_s=5)
            status = await client.orchestrator.status()
            return result.status, status.accepting_tasks

    assert asyncio.run(shut_down()) == ("drained", False)
    with pytest.raises(ConflictError):  # shut down: no new tasks
        agora.pipelines.cache_warm()
