"""Worker sweeps: a lost asset.uploaded event is re-published; the outbox is bounded."""

from __future__ import annotations

from agora.bus.base import Event, Topics
from agora.runtime import Platform
from agora.testing.api import drain_pipeline
from agora.worker import PIPELINE_GROUP, republish_stalled, trim_embedded_topics


def test_stalled_job_is_republished_and_finished(platform: Platform) -> None:
    platform.people.upsert_seller("s1", {"name": "S"}, "t")
    created = platform.assets.create({"title": "Coin", "seller_id": "s1"}, [], [], "t")
    # Lose the event: the pipeline group takes it and acks it without running the job
    # (what a crash between the catalog commit and the publish amounts to).
    lost = platform.bus.consume(Topics.ASSET_UPLOADED, PIPELINE_GROUP, "ghost", block_ms=0)
    assert len(lost) == 1
    platform.bus.ack(lost[0])
    assert platform.jobs.get(created.job_id)["status"] == "queued"

    platform.settings.pipeline.republish_after_s = 3600
    assert republish_stalled(platform) == 0  # too recent to be called stalled
    platform.settings.pipeline.republish_after_s = 0
    assert republish_stalled(platform) == 1
    assert drain_pipeline(platform) == 1
    assert platform.jobs.get(created.job_id)["status"] == "succeeded"
    assert platform.assets.get(created.asset_id)["status"] == "active"
    assert republish_stalled(platform) == 0


def test_embedded_outbox_is_trimmed_but_unsettled_events_stay(platform: Platform) -> None:
    platform.bus.publish_many([Event(Topics.INTERACTION_RECORDED, {"n": i}) for i in range(50)])
    # A group that has read nothing keeps every event alive.
    first = platform.bus.consume(
        Topics.INTERACTION_RECORDED, "features", "c1", max_count=1, block_ms=0
    )
    platform.settings.bus.max_stream_length = 10
    assert trim_embedded_topics(platform) == 0
    assert platform.bus.depth(Topics.INTERACTION_RECORDED, "features") == 50
    # Once the group has settled them, all but the newest 10 go.
    platform.bus.ack(first[0])
    while deliveries := platform.bus.consume(
        Topics.INTERACTION_RECORDED, "features", "c1", max_count=100, block_ms=0
    ):
        for d in deliveries:
            platform.bus.ack(d)
    assert platform.bus.depth(Topics.INTERACTION_RECORDED, "features") == 0
    assert trim_embedded_topics(platform) == 40
