"""The tagging service: consent, local taggers, cloud fallback, aggregation, persistence, audit.

``TaggingService.tag_asset`` is the whole ADR flow for one asset; the API
route and the pipeline step both call it. Every decision (processed,
refused for consent) is written to the audit log with the consent version.

The taxonomy is stored state (``agora.tagging.taxonomy_store``): every
request reads the stored version, and a new one rebuilds the taggers that
derive from it (zero-shot prototypes, creator tags, cloud mappings), so a
label created through the API is suggested and accepted in feedback at once.

Example:
    >>> svc = TaggingService.for_platform(platform)  # doctest: +SKIP
    >>> svc.tag_asset("a-1", actor="key:ab12")["tags"][0]["name"]  # doctest: +SKIP
    'tank'
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image
from sqlalchemy import select

from agora.domain import ModelRef
from agora.errors import AgoraError, Conflict, InvalidInput, NotFound
from agora.ops.fallbacks import count_fallback
from agora.storage.tables import AssetRow
from agora.tagging.aggregate import aggregate, calculate_quality_score
from agora.tagging.base import Tag, TaggingInput
from agora.tagging.cloud import CloudGate, CloudUnavailable
from agora.tagging.features import TaggingFeatureExtractor, head_input, image_features
from agora.tagging.feedback import parse_feedback
from agora.tagging.files import FileAnalysisTagger
from agora.tagging.heads import TagKey
from agora.tagging.heads_tagger import HeadsTagger, first_reviews
from agora.tagging.lease import TrainingLease
from agora.tagging.metrics import CLOUD_CALLS, TAGGING_LATENCY
from agora.tagging.reset import ALL, reset_feedback
from agora.tagging.retrain import BackgroundRetrainer
from agora.tagging.router import (
    ProcessingOptions,
    cloud_permission,
    fallback_triggers,
    require_ai_consent,
    split_consent_block,
)
from agora.tagging.tables import TagEmbeddingRow, TagFeedbackRow, TagResultRow
from agora.tagging.taxonomy import Taxonomy
from agora.tagging.taxonomy_store import StoredTaxonomy, TaxonomyStore
from agora.tagging.training import HEADS_MODEL, feedback_since, last_trained_feedback
from agora.tagging.writeback import announce_tags_changed, write_back
from agora.tagging.zeroshot import (
    CreatorTagTagger,
    LabelPrototypes,
    ZeroShotImageTagger,
    ZeroShotTextTagger,
)

if TYPE_CHECKING:
    from agora.blobs.base import BlobStore
    from agora.bus.base import EventBus
    from agora.config import Settings
    from agora.encoders.conse import ConseEncoder
    from agora.encoders.factory import ServedTextEncoder
    from agora.governance.audit import AuditLog
    from agora.governance.consent import ConsentRegistry
    from agora.mlops.base import ModelStore
    from agora.mlops.tasks import TaskContext
    from agora.storage.database import Database

log = logging.getLogger("agora.tagging")
MAX_IMAGES = 8
MAX_FILE_BYTES = 64 * 1024 * 1024
ROLES = ("creator", "moderator", "admin")
# The audit entry's model; every model behind the tags is in its details.
SERVICE_MODEL = "tagging@1.0"
MAX_BATCH_ITEMS = 1000
# How long a reset waits for a training run of this process before answering 409.
RESET_WAIT_S = 30.0


@dataclass(frozen=True)
class TaxonomyView:
    """One taxonomy version and the taggers derived from it (swapped as a whole)."""

    version: int
    taxonomy: Taxonomy
    image: ZeroShotImageTagger
    text: ZeroShotTextTagger
    creator: CreatorTagTagger


@dataclass
class _AssetFeedback:
    """One asset's part of a feedback call."""

    asset_id: str
    parsed: list[tuple[TagKey, str]]
    owner: str = ""
    result: dict[str, Any] = field(default_factory=dict)


class TaggingService:
    """One per process and settings; thread-safe."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        audit: AuditLog,
        consent: ConsentRegistry,
        blobs: BlobStore,
        models: ModelStore,
        *,
        text: ServedTextEncoder,
        conse: ConseEncoder,
        extractor: TaggingFeatureExtractor,
        taxonomies: TaxonomyStore,
        cloud: CloudGate | None = None,
        bus: EventBus | None = None,
    ) -> None:
        self.settings = settings
        self.cfg = settings.tagging
        self.db, self.audit, self.consent, self.blobs, self.models = (
            db,
            audit,
            consent,
            blobs,
            models,
        )
        self.taxonomies = taxonomies
        self.text = text
        self.conse = conse
        self.extractor = extractor
        self.cloud = cloud
        self.bus = bus
        self._view_lock = threading.Lock()
        self._view: TaxonomyView | None = None
        self.file_tagger = FileAnalysisTagger()
        self.heads = HeadsTagger(
            models,
            encoder_key=self.head_encoder_key,
            db=db,
            canary_share=settings.mlops.canary_share,
        )
        self._train_lock = threading.Lock()
        # Across processes (API workers, the scheduler's worker): one run at a time.
        self.lease = TrainingLease(db)
        # (looked-up monotonic time, feedback id the newest heads saw): a registry
        # round trip per feedback request would cost more than the request.
        self._trained_upto: tuple[float, int] | None = None
        self.retrainer = BackgroundRetrainer(
            lambda: self.retrain_if_new(actor="auto-retrain", reason="feedback")
        )

    # --- the taxonomy -------------------------------------------------------

    def taxonomy_view(self) -> TaxonomyView:
        """The stored taxonomy's newest version and its taggers (rebuilt when it moved:
        one primary-key query per call, the prototypes embedded on first use)."""
        stored = self.taxonomies.current()
        view = self._view
        if view is not None and view.version == stored.version:
            return view
        with self._view_lock:
            view = self._view
            if view is None or view.version < stored.version:
                view = self._view = self._derive(stored)
                if self.cloud is not None:
                    self.cloud.tagger.taxonomy = stored.taxonomy
            return view

    def _derive(self, stored: StoredTaxonomy) -> TaxonomyView:
        tax, temp = stored.taxonomy, self.cfg.zero_shot_temperature
        # One set of label prototypes for both zero-shot taggers (one text space).
        protos = LabelPrototypes(tax, self.text)
        shared = protos if self.conse.info.index_key == self.text.info.key else None
        return TaxonomyView(
            stored.version, tax,
            image=ZeroShotImageTagger(
                tax, self.conse, self.extractor, prototypes=shared, temperature=temp
            ),
            text=ZeroShotTextTagger(tax, self.text, prototypes=protos, temperature=temp),
            creator=CreatorTagTagger(tax),
        )  # fmt: skip

    @property
    def taxonomy(self) -> Taxonomy:
        """The taxonomy in use now (the stored newest version)."""
        return self.taxonomy_view().taxonomy

    @property
    def image_tagger(self) -> ZeroShotImageTagger:
        return self.taxonomy_view().image

    @property
    def text_tagger(self) -> ZeroShotTextTagger:
        return self.taxonomy_view().text

    @property
    def creator_tagger(self) -> CreatorTagTagger:
        return self.taxonomy_view().creator

    @property
    def head_encoder_key(self) -> str:
        """Key of the head inputs (vectors of another extractor never mix in)."""
        return self.extractor.info.key

    # --- inputs -------------------------------------------------------------

    def _asset(self, asset_id: str) -> AssetRow:
        with self.db.session() as s:
            row = s.get(AssetRow, asset_id)
            if row is None:
                raise NotFound(f"asset {asset_id!r} not found")
            s.expunge(row)
            return row

    def _input(self, row: AssetRow) -> TaggingInput:
        images: list[Image.Image] = []
        first_bytes: bytes | None = None
        for ref in list(row.images or [])[:MAX_IMAGES]:
            try:
                data = self.blobs.get(str(ref["sha256"]))
                img = Image.open(io.BytesIO(data))
                img.load()
            # Decoders raise anything on hostile bytes: a corrupt image is skipped, never fatal.
            except Exception as exc:  # noqa: BLE001
                log.warning("asset %s: image skipped for tagging: %s", row.id, exc)
                continue
            images.append(img)
            first_bytes = first_bytes or data
        files: list[tuple[str, bytes]] = []
        for ref in list(row.files or [])[:50]:
            if int(ref.get("size") or 0) > MAX_FILE_BYTES:
                continue
            try:
                files.append((str(ref.get("name") or ""), self.blobs.get(str(ref["sha256"]))))
            except (AgoraError, OSError) as exc:  # a missing or unreadable blob
                log.warning("asset %s: file skipped for tagging: %s", row.id, exc)
        return TaggingInput(
            asset_id=row.id, title=row.title or "", description=row.description or "",
            creator_tags=[t for t in (row.creator_tags or []) if isinstance(t, str)],
            images=images, files=files, image_bytes=first_bytes,
        )  # fmt: skip

    # --- the ADR flow -------------------------------------------------------

    def local_tags(
        self, item: TaggingInput, options: ProcessingOptions, view: TaxonomyView | None = None
    ) -> list[Tag]:
        """Every local tagger's output (not yet aggregated)."""
        view = view or self.taxonomy_view()
        tags = self.file_tagger.predict(item) + view.creator.predict(item)
        zero_shot: list[Tag] = []
        if item.images:
            zero_shot += view.image.predict(item)
            feats = image_features(item, self.extractor, self.conse)
            tags += self.heads.predict_features(feats, subject_id=item.asset_id)
        if options.accuracy_mode != "fast" or not item.images:
            text_tags = view.text.predict(item)
            if text_tags:
                item.cache["text_encoder"] = self.text.info.key
            zero_shot += text_tags
        # Once a category has heads trained on confirmed examples, they speak for it:
        # the uncalibrated zero-shot guess only serves categories without examples
        # (on the Kenney sprites, merging both cost 0.1 of top-1 at k = 1).
        covered = {category for category, _ in self.heads.covered()}
        return tags + [t for t in zero_shot if t.category not in covered]

    def tag_asset(
        self,
        asset_id: str,
        *,
        processing_options: Mapping[str, Any] | None = None,
        consent: Mapping[str, Any] | None = None,
        actor: str = "system",
    ) -> dict[str, Any]:
        """Tag one asset end to end; returns the ADR response and persists it."""
        start = time.perf_counter()
        cfg = self.cfg
        options = ProcessingOptions.parse(
            processing_options, default_threshold=cfg.cloud_confidence_threshold,
            default_min_tags=cfg.min_tag_count, default_budget_ms=cfg.max_processing_time_ms,
        )  # fmt: skip
        client_version, narrowing = split_consent_block(consent)
        row = self._asset(asset_id)
        flags = self.consent.effective(
            row.seller_id, narrowing, forbid_cloud=self.settings.enterprise_forbid_cloud
        )
        if not flags.allows_ai_processing:
            self.audit.record(
                actor, "tagging.refused", "asset", asset_id, consent_version=flags.version,
                details={"owner": row.seller_id, "reason": "no consent to AI processing",
                         "client_consent_version": client_version},
            )  # fmt: skip
        require_ai_consent(flags)
        deadline = time.monotonic() + options.max_processing_time / 1000
        item = self._input(row)
        view = self.taxonomy_view()  # one taxonomy version for the whole request
        local = self.local_tags(item, options, view)
        local_view = aggregate(local, [], view.taxonomy)
        triggers = fallback_triggers(local_view, options)
        refusal = cloud_permission(
            flags, options, enterprise_forbid_cloud=self.settings.enterprise_forbid_cloud,
            provider_configured=self.cloud is not None, has_image=item.image_bytes is not None,
        )  # fmt: skip
        cloud_tags: list[Tag] = []
        cloud_info: dict[str, Any] = {"triggers": triggers, "called": False, "reason": None}
        if triggers and refusal is None and self.cloud is not None and item.image_bytes:
            try:
                cloud_tags = self.cloud.tag(item.image_bytes, deadline=deadline)
                cloud_info["called"] = True
                CLOUD_CALLS.labels(self.cloud.tagger.provider, "ok").inc()
            except CloudUnavailable as exc:
                cloud_info["reason"] = str(exc)
                cloud_info["fallback"] = "local only"
                CLOUD_CALLS.labels(self.cloud.tagger.provider, "error").inc()
                count_fallback("tagging_cloud_to_local")
        elif triggers:
            cloud_info["reason"] = refusal
        tags = self._select(aggregate(local, cloud_tags, view.taxonomy), options.top_k)
        total_ms = (time.perf_counter() - start) * 1000
        models_used = sorted(
            {t.source_model for t in local + cloud_tags} | self._encoders_used(item)
        )
        quality = calculate_quality_score(tags, total_ms, models_used, self.is_stable)
        processed_at = datetime.now(UTC)
        result = {
            "asset_id": asset_id,
            "tags": [public_tag(t, self.cfg.output_min_confidence) for t in tags],
            "quality_score": round(quality, 4),
            "total_processing_time": round(total_ms, 2),
            "models_used": models_used,
            "consent_version": flags.version,
            "processed_at": processed_at.isoformat(),
            "cloud": cloud_info,
            "facts": item.cache.get("file_facts", {}),
        }
        self._persist(row, item, result, processed_at, actor, client_version)
        TAGGING_LATENCY.observe(total_ms / 1000)
        return result

    def _encoders_used(self, item: TaggingInput) -> set[str]:
        """Encoders behind the zero-shot and head tags (recorded with every result)."""
        feats = item.cache.get("image_features")
        used = set(feats.models) if feats is not None else set()
        if "text_encoder" in item.cache:
            used.add(item.cache["text_encoder"])
        return used

    def _select(self, tags: list[Tag], top_k: int | None = None) -> list[Tag]:
        """Tags worth returning: above the output floor, at most N per category; with
        ``top_k``, the k best of each category whatever their confidence (a caller who
        asks for a ranking gets it, the floor only marks each tag)."""
        per_cat: dict[str, int] = {}
        out = []
        limit = top_k if top_k is not None else self.cfg.top_n_per_category
        for t in tags:  # aggregate() sorted them, most confident first
            if top_k is None and t.confidence < self.cfg.output_min_confidence:
                continue
            if per_cat.get(t.category, 0) >= limit:
                continue
            per_cat[t.category] = per_cat.get(t.category, 0) + 1
            out.append(t)
        return out

    def is_stable(self, model: str) -> bool:
        """Model-store models are stable when they are the champion; pinned releases always."""
        if model.startswith(f"{HEADS_MODEL}@"):
            return self.heads.champion_version() == model.split("@", 1)[1]
        return True

    def _persist(
        self, row: AssetRow, item: TaggingInput, result: dict[str, Any],
        processed_at: datetime, actor: str, client_version: str | None,
    ) -> None:  # fmt: skip
        feats = item.cache.get("image_features")
        with self.db.session() as s:
            rec = s.get(TagResultRow, row.id) or TagResultRow(asset_id=row.id)
            rec.tags, rec.quality_score = result["tags"], result["quality_score"]
            rec.total_processing_time = result["total_processing_time"]
            rec.models_used, rec.consent_version = result["models_used"], result["consent_version"]
            rec.cloud, rec.facts, rec.processed_at = result["cloud"], result["facts"], processed_at
            s.add(rec)
            if feats is not None:
                emb = s.get(TagEmbeddingRow, row.id) or TagEmbeddingRow(asset_id=row.id)
                emb.encoder = self.head_encoder_key
                emb.vector = head_input(feats).astype(np.float32).tobytes()
                s.add(emb)
            self.audit.record(
                actor, "tagging.processed", "asset", row.id,
                model=SERVICE_MODEL,
                consent_version=result["consent_version"],
                details={
                    "owner": row.seller_id, "client_consent_version": client_version,
                    "models_used": result["models_used"],
                    "tags": [(t["category"], t["name"], t["confidence"]) for t in result["tags"]],
                    "quality_score": result["quality_score"], "cloud": result["cloud"],
                    "processing_time_ms": result["total_processing_time"],
                },
                session=s,
            )  # fmt: skip

    # --- reads and feedback -------------------------------------------------

    def result(self, asset_id: str) -> dict[str, Any]:
        """The stored result of the last tagging run."""
        with self.db.session() as s:
            rec = s.get(TagResultRow, asset_id)
            if rec is None:
                if s.get(AssetRow, asset_id) is None:
                    raise NotFound(f"asset {asset_id!r} not found")
                raise NotFound(f"asset {asset_id!r} has not been tagged yet")
            return {
                "asset_id": asset_id, "tags": rec.tags, "quality_score": rec.quality_score,
                "total_processing_time": rec.total_processing_time,
                "models_used": rec.models_used, "consent_version": rec.consent_version,
                "processed_at": _iso(rec.processed_at), "cloud": rec.cloud, "facts": rec.facts,
            }  # fmt: skip

    def results_of(self, asset_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """The last tagging run's tags of many assets in one query (asset id -> tags;
        an asset not tagged yet is absent). For review pages listing many assets."""
        if not asset_ids:
            return {}
        with self.db.session() as s:
            rows = s.scalars(select(TagResultRow).where(TagResultRow.asset_id.in_(asset_ids)))
            return {r.asset_id: list(r.tags or []) for r in rows}

    def feedback(self, asset_id: str, items: Any, *, role: str, actor: str) -> dict[str, Any]:
        """Record confirmations/rejections; they train the next head if the owner allows.
        In the same transaction, confirmed tags join the asset's own tags and rejected
        ones written back earlier leave them (``agora.tagging.writeback``)."""
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {list(ROLES)}")
        group = _AssetFeedback(asset_id, parse_feedback(items, self.taxonomy))
        group.owner = self._asset(asset_id).seller_id
        due, started = self._record([group], role=role, actor=actor)
        return group.result | {"retrain_due": due, "retrain_started": started}

    def feedback_batch(self, items: Sequence[Any], *, role: str, actor: str) -> dict[str, Any]:
        """Feedback on many assets (``[{"asset_id", "name", "category"?, "verdict"}]``):
        validated as a whole (an unknown asset or tag: nothing is recorded), written in
        one transaction, and at most one retrain started for the whole batch."""
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {list(ROLES)}")
        if not isinstance(items, Sequence) or not 1 <= len(items) <= MAX_BATCH_ITEMS:
            raise InvalidInput(f"feedback must be a list of 1..{MAX_BATCH_ITEMS} items")
        taxonomy = self.taxonomy
        groups: dict[str, _AssetFeedback] = {}
        for i, item in enumerate(items):
            asset_id = item.get("asset_id") if isinstance(item, Mapping) else None
            if not isinstance(asset_id, str) or not asset_id:
                raise InvalidInput(f"items[{i}]: 'asset_id' is required")
            try:
                (parsed,) = parse_feedback([item], taxonomy)
            except InvalidInput as exc:
                raise InvalidInput(f"items[{i}]: {exc.detail}") from exc
            groups.setdefault(asset_id, _AssetFeedback(asset_id, [])).parsed.append(parsed)
        with self.db.session() as s:
            found = s.execute(
                select(AssetRow.id, AssetRow.seller_id).where(AssetRow.id.in_(list(groups)))
            ).tuples()
            owners = dict(found.all())  # not dict(found): a Result has keys() of its own
        for i, item in enumerate(items):
            if item["asset_id"] not in owners:
                raise InvalidInput(f"items[{i}]: asset {item['asset_id']!r} not found")
        for group in groups.values():
            group.owner = owners[group.asset_id]
        due, started = self._record(list(groups.values()), role=role, actor=actor)
        return {
            "recorded": len(items), "assets": [g.result for g in groups.values()],
            "retrain_due": due, "retrain_started": started,
        }  # fmt: skip

    def _record(self, groups: list[_AssetFeedback], *, role: str, actor: str) -> tuple[bool, bool]:
        """Write every group's feedback in one transaction (assets locked in id order),
        then announce the tag changes and start at most one retrain; (due, started)."""
        flags = {owner: self.consent.get(owner) for owner in {g.owner for g in groups}}
        reviews: list[tuple[list[Any], list[tuple[TagKey, str]]]] = []
        statuses: dict[str, str] = {}
        with self.db.session() as s:
            for group in sorted(groups, key=lambda g: g.asset_id):
                asset_id, parsed, consent = group.asset_id, group.parsed, flags[group.owner]
                asset = s.get(AssetRow, asset_id, with_for_update=True)
                if asset is None:
                    raise NotFound(f"asset {asset_id!r} not found")
                reviews.append(first_reviews(s, asset_id, parsed))
                for (category, label), verdict in parsed:
                    s.add(TagFeedbackRow(
                        asset_id=asset_id, owner_id=group.owner, category=category, label=label,
                        verdict=verdict, role=role, actor=actor[:128],
                    ))  # fmt: skip
                written = write_back(s, asset, dict(parsed), self.taxonomy, actor)
                self.audit.record(
                    actor, "tagging.feedback", "asset", asset_id, consent_version=consent.version,
                    details={"role": role, "items": [[c, n, v] for (c, n), v in parsed],
                             "used_for_training": consent.allows_model_training},
                    session=s,
                )  # fmt: skip
                if written.changed:  # the entry of any asset change (AssetService.update)
                    details = {"fields": ["tags"], "added": written.added,
                               "removed": written.removed}  # fmt: skip
                    self.audit.record(actor, "asset.updated", "asset", asset_id,
                                      details=details, session=s)  # fmt: skip
                    statuses[asset_id] = asset.status
                group.result = {
                    "asset_id": asset_id, "recorded": len(parsed),
                    "used_for_training": consent.allows_model_training,
                    "consent_version": consent.version,
                    "tags": written.tags, "added": written.added, "removed": written.removed,
                }  # fmt: skip
        for asset_id, status in statuses.items():
            announce_tags_changed(self.bus, asset_id, status)
        for suggested, first in reviews:
            self.heads.report_feedback(suggested, first)  # acceptance per heads version
        due = self.retrain_due()
        return due, due and self.cfg.auto_retrain and self.retrainer.start()

    def retrain_due(self) -> bool:
        """Enough new consented feedback since the newest heads' training snapshot
        (gated in or not: a rejected retrain waits for more feedback). Cached for
        ``heads.refresh_s``: the automatic runs check again, uncached, before training."""
        now, cached = time.monotonic(), self._trained_upto
        if cached is None or now - cached[0] >= self.heads.refresh_s:
            cached = self._trained_upto = (now, last_trained_feedback(self.models))
        last = cached[1]
        return feedback_since(self.db, last, self.consent) >= self.cfg.retrain_min_feedback

    def _new_feedback_now(self) -> bool:
        """``retrain_due`` read fresh from the model store (the high-water mark of the
        newest registered heads), for a run that holds the training lock and lease."""
        last = last_trained_feedback(self.models)
        return feedback_since(self.db, last, self.consent) >= self.cfg.retrain_min_feedback

    def train(
        self,
        *,
        actor: str = "system",
        reason: str = "manual",
        ctx: TaskContext | None = None,
        holdout: float = 0.2,
        seed: int = 0,
    ) -> dict[str, Any]:
        """Train new heads now through the gated pipeline (one run at a time, in this
        process and across processes).

        Returns the pipeline's outcome (``decision``: champion, challenger or
        rejected); ``InvalidInput`` when too few confirmed tags for a holdout,
        ``Conflict`` while another process trains.
        """
        out = self._train(actor, reason, ctx, holdout, seed, only_if_new=False)
        if out is None:
            raise Conflict("tag heads are being trained by another process; retry when it ends")
        return out

    def retrain_if_new(
        self, *, actor: str, reason: str, ctx: TaskContext | None = None
    ) -> dict[str, Any] | None:
        """The automatic retrain (after feedback, on schedule): trains only if enough new
        feedback arrived since the newest registered heads, checked again once this run
        holds the lock and the lease, so one round of feedback registers one version
        however many triggers fired on it. None: nothing new, or another process trains."""
        return self._train(actor, reason, ctx, 0.2, 0, only_if_new=True)

    def _train(
        self, actor: str, reason: str, ctx: TaskContext | None, holdout: float, seed: int,
        *, only_if_new: bool,
    ) -> dict[str, Any] | None:  # fmt: skip
        from agora.tagging.pipeline import gated_heads_training

        with self._train_lock:
            holder = self.lease.acquire()
            if holder is None:
                return None
            try:
                if only_if_new and not self._new_feedback_now():
                    return None
                out = gated_heads_training(
                    self, ctx, holdout=holdout, seed=seed, reason=reason, actor=actor
                )
            finally:
                self.lease.release(holder)
                # Serve a new champion (or canary) now, and count from its snapshot.
                self.heads.refresh()
                self._trained_upto = None
        ref = ModelRef(HEADS_MODEL, str(out["version"]))
        self.audit.record(actor, "tagging.heads_trained", "model", ref.name, model=ref,
                          details={"decision": out["decision"]})  # fmt: skip
        return out

    def reset(self, category: str | None, *, actor: str) -> dict[str, Any]:
        """Delete the feedback of ``category`` (None: of every category) and retire the
        heads registered so far for it (``agora.tagging.reset``): zero-shot serves it
        until heads trained afterwards pass the gate. Audited. Waits for a training run
        of this process; ``Conflict`` while one runs elsewhere (it would register heads
        trained on the deleted feedback)."""
        if category is not None and category not in self.taxonomy.categories:
            raise NotFound(f"category {category!r} is not in the taxonomy")
        if not self._train_lock.acquire(timeout=RESET_WAIT_S):
            raise Conflict("tag heads are being trained; retry the reset when it ends")
        try:
            holder = self.lease.acquire()
            if holder is None:
                raise Conflict("tag heads are being trained by another process; retry")
            try:
                done = reset_feedback(
                    self.db, self.models, self.audit, category or ALL, actor=actor
                )
            finally:
                self.lease.release(holder)
            self.heads.refresh()
            self._trained_upto = None
        finally:
            self._train_lock.release()
        return {"category": category, "feedback_deleted": done.feedback_deleted,
                "heads_retired_upto": done.heads_upto}  # fmt: skip


def public_tag(tag: Tag, floor: float) -> dict[str, Any]:
    """A tag as the API returns it: ``agreed_by`` only when others agreed, and whether
    it clears the output ``floor`` (``tagging.output_min_confidence``)."""
    out = tag.to_dict()
    if not out["agreed_by"]:
        out.pop("agreed_by")
    out["above_threshold"] = tag.confidence >= floor
    return out


def _iso(ts: datetime) -> str:
    return (ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts).isoformat()
