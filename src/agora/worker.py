"""Background workers: bus consumers (pipeline, webhooks) and the stalled-job sweeper.

``agora worker`` runs ``run_worker`` in its own process (scale out by starting
more: each joins the same consumer groups). With embedded backends
``agora serve`` runs ``InProcessWorkers`` inside the API process.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from agora.bus.base import Event, Topics
from agora.bus.consumer import Consumer, SqlIdempotencyLedger
from agora.catalog.assets import PIPELINE_JOB
from agora.features.consumer import FEATURES_GROUP
from agora.ops.queues import watch_queue
from agora.ops.shutdown import join_within, remaining
from agora.pipeline.runner import PIPELINE_GROUP
from agora.processing.defaults import DEFAULTS_GROUP, default_optimizations_handler
from agora.processing.jobs import OPTIMIZE_GROUP
from agora.processing.worker import OptimizationWorker, republish_stale_optimizations
from agora.runtime import Platform
from agora.search.consumer import INDEX_GROUP, INDEX_TOPICS, index_event_handler
from agora.storage.jobs import JobStatus
from agora.storage.tables import JobRow
from agora.webhooks.dispatch import WebhookDispatcher

log = logging.getLogger("agora.worker")

WEBHOOK_GROUP = "webhooks"
# Bus topics whose events are offered to webhook subscribers.
WEBHOOK_TOPICS = (Topics.ASSET_PROCESSED, Topics.ASSET_UPDATED, Topics.ASSET_DELETED)


def webhook_handler(dispatcher: WebhookDispatcher) -> Callable[[Event], None]:
    """Turn bus events into webhook deliveries (an ``asset.flagged`` as well when
    processing held the asset: flagged for review, or banned outright by a block
    such as a malware hit)."""

    def handle(event: Event) -> None:
        dispatcher.enqueue(event.topic, event.id, event.payload)
        held = event.payload.get("status") in ("flagged", "banned")
        if event.topic == Topics.ASSET_PROCESSED and held:
            dispatcher.enqueue("asset.flagged", f"{event.id}-flagged", event.payload)

    return handle


def republish_stalled(platform: Platform) -> int:
    """Re-publish queued pipeline jobs whose event never reached the bus.

    Only when the pipeline group has nothing left to read: a job still queued
    then lost its event (a crash between the catalog commit and the publish).
    A duplicate is harmless: the runner is idempotent per (job, step).
    """
    if platform.bus.depth(Topics.ASSET_UPLOADED, PIPELINE_GROUP) > 0:
        return 0
    cutoff = datetime.now(UTC) - timedelta(seconds=platform.settings.pipeline.republish_after_s)
    with platform.db.session() as s:
        stalled = list(
            s.execute(
                select(JobRow.id, JobRow.subject_id)
                .where(
                    JobRow.kind == PIPELINE_JOB,
                    JobRow.status == JobStatus.QUEUED.value,
                    JobRow.created_at < cutoff,
                )
                .limit(500)
            )
        )
    for job_id, asset_id in stalled:
        log.warning("re-publishing stalled pipeline job %s for asset %s", job_id, asset_id)
        platform.bus.publish(
            Event(Topics.ASSET_UPLOADED, {"asset_id": asset_id, "job_id": job_id}, key=asset_id)
        )
    return len(stalled)


def trim_embedded_topics(platform: Platform) -> int:
    """Bound the embedded outbox: delete events every group has settled, keeping
    the newest ``bus.max_stream_length`` per topic. (Redis trims on publish.)"""
    if not platform.settings.bus.url.startswith("memory"):
        return 0
    keep = platform.settings.bus.max_stream_length
    topics = [v for k, v in vars(Topics).items() if k.isupper()]
    return sum(platform.bus.trim(topic, keep_last=keep) for topic in topics)  # type: ignore[attr-defined]


class WorkerSet:
    """The consumer threads of one worker process."""

    def __init__(self, platform: Platform, *, name: str | None = None) -> None:
        self.platform = platform
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        ledger = SqlIdempotencyLedger(platform.db)
        self.dispatcher = WebhookDispatcher(platform.db, platform.settings.webhooks)
        runner = platform.pipeline_runner()
        self.consumers = [
            runner.consumer(f"{self.name}-pipeline-{i}", ledger=ledger)
            for i in range(platform.settings.pipeline.consumers)
        ] + [
            Consumer(
                platform.bus,
                topic,
                WEBHOOK_GROUP,
                webhook_handler(self.dispatcher),
                name=f"{self.name}-webhooks",
                settings=platform.settings.bus,
                ledger=ledger,
            )
            for topic in WEBHOOK_TOPICS
        ]
        # Search indexes follow catalog updates, deletions and bans.
        self.consumers += [
            Consumer(
                platform.bus,
                topic,
                INDEX_GROUP,
                index_event_handler(platform.db, platform.indexer),
                name=f"{self.name}-search-index",
                settings=platform.settings.bus,
                ledger=ledger,
            )
            for topic in INDEX_TOPICS
        ]

        # Media optimisations (upscaling, LODs, conversion, thumbnails).
        self.consumers += [
            Consumer(
                platform.bus,
                Topics.ASSET_OPTIMIZATION_REQUESTED,
                OPTIMIZE_GROUP,
                OptimizationWorker(
                    platform.db,
                    platform.jobs,
                    platform.blobs,
                    platform.settings.processing,
                    name=f"{self.name}-optimize-{i}",
                ).handle,
                name=f"{self.name}-optimize-{i}",
                settings=platform.settings.bus,
                ledger=ledger,
            )
            for i in range(platform.settings.processing.consumers)
        ]
        if platform.settings.processing.default_optimizations:
            # The category's default optimisations once the pipeline has run.
            self.consumers.append(
                Consumer(
                    platform.bus,
                    Topics.ASSET_PROCESSED,
                    DEFAULTS_GROUP,
                    default_optimizations_handler(
                        platform.optimizations, platform.settings.processing
                    ),
                    name=f"{self.name}-optimize-defaults",
                    settings=platform.settings.bus,
                    ledger=ledger,
                )
            )

        for c in self.consumers:
            watch_queue(c.topic, c.group)
        from agora.mlops.background import MlopsBackground

        # Orchestrated tasks (training, checks) run on every worker, and click
        # attribution (its canary figures flush periodically, so the flusher runs too).
        self.mlops = MlopsBackground(
            platform.orchestrator(),
            platform.canary_monitor,
            attribution=platform.attribution_consumer,
        )
        # Feature store stream aggregation (one process at a time holds its lease).
        self.feature_stream = platform.stream_consumer(f"{self.name}-features")
        watch_queue(Topics.INTERACTION_RECORDED, FEATURES_GROUP)

    def _batch(self, consumer: Consumer) -> int:
        # The pipeline runs each step over its whole batch (one encoder call for
        # all texts, one for all images) and settles each asset on its own; the
        # batch is bounded so it settles within its delivery lease.
        if consumer.group == PIPELINE_GROUP:
            return self.platform.settings.pipeline.batch_max_assets
        if consumer.group == OPTIMIZE_GROUP:
            return 1  # long jobs: a batch would hold deliveries other workers could run
        return 50

    def _sweep(self) -> None:
        period = max(1.0, self.platform.settings.pipeline.republish_after_s / 2)
        while not self.stop_event.wait(period):
            try:
                republish_stalled(self.platform)
                republish_stale_optimizations(
                    self.platform.db, self.platform.bus, self.platform.settings.processing
                )
                trim_embedded_topics(self.platform)
            except Exception:  # a sweep failure is retried on the next period
                log.exception("stalled-job sweep failed")

    def start(self) -> None:
        """Start every consumer, the webhook delivery loop and the sweeper."""
        targets: list[tuple[str, Callable[[], None]]] = [
            (c.name, functools.partial(c.run_forever, self.stop_event, max_count=self._batch(c)))
            for c in self.consumers
        ]
        targets.append(("webhook-delivery", lambda: self.dispatcher.run_forever(self.stop_event)))
        targets.append(("stalled-sweeper", self._sweep))
        targets.append(("feature-stream", lambda: self.feature_stream.run_forever(self.stop_event)))
        for tname, target in targets:
            t = threading.Thread(target=target, name=tname, daemon=True)
            t.start()
            self.threads.append(t)
        self.mlops.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Signal every loop and wait, at most ``timeout`` seconds in all, for them to
        finish their current delivery (one deadline: waiting ``timeout`` per thread
        let a worker with eight loops take minutes to stop)."""
        deadline = time.monotonic() + timeout
        self.stop_event.set()
        self.mlops.stop(timeout)
        stuck = join_within(self.threads, remaining(deadline))
        if stuck:
            log.warning("stopping with %s still busy", ", ".join(t.name for t in stuck))
        self.dispatcher.close()


# The API process runs the same set in-process with embedded backends.
InProcessWorkers = WorkerSet


def run_worker(platform: Platform, stop: threading.Event) -> None:
    """Run a worker process's consumers until ``stop`` is set."""
    workers = WorkerSet(platform)
    workers.start()
    log.info("worker %s started", workers.name)
    stop.wait()
    workers.stop()
