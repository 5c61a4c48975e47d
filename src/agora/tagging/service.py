"""The tagging service: consent, local taggers, cloud fallback, aggregation, persistence, audit.

``TaggingService.tag_asset`` is the whole ADR flow for one asset; the API
route and the pipeline step both call it. Every decision (processed,
refused for consent) is written to the audit log with the consent version.

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
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from agora.domain import ModelRef
from agora.errors import AgoraError, InvalidInput, NotFound
from agora.ops.fallbacks import count_fallback
from agora.storage.tables import AssetRow
from agora.tagging.aggregate import aggregate, calculate_quality_score
from agora.tagging.base import Tag, TaggingInput
from agora.tagging.cloud import CloudGate, CloudUnavailable
from agora.tagging.features import TaggingFeatureExtractor, head_input, image_features
from agora.tagging.feedback import parse_feedback
from agora.tagging.files import FileAnalysisTagger
from agora.tagging.heads_tagger import HeadsTagger, first_reviews
from agora.tagging.metrics import CLOUD_CALLS, TAGGING_LATENCY
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
        taxonomy: Taxonomy,
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
        self.taxonomy = taxonomy
        self.text = text
        self.conse = conse
        self.extractor = extractor
        self.cloud = cloud
        self.bus = bus
        temp = self.cfg.zero_shot_temperature
        # One set of label prototypes for both zero-shot taggers (one text space).
        protos = LabelPrototypes(taxonomy, text)
        shared = protos if conse.info.index_key == text.info.key else None
        self.image_tagger = ZeroShotImageTagger(
            taxonomy, conse, extractor, prototypes=shared, temperature=temp
        )
        self.text_tagger = ZeroShotTextTagger(taxonomy, text, prototypes=protos, temperature=temp)
        self.creator_tagger = CreatorTagTagger(taxonomy)
        self.file_tagger = FileAnalysisTagger()
        self.heads = HeadsTagger(
            models,
            encoder_key=self.head_encoder_key,
            db=db,
            canary_share=settings.mlops.canary_share,
        )
        self._train_lock = threading.Lock()
        # (looked-up monotonic time, feedback id the newest heads saw): a registry
        # round trip per feedback request would cost more than the request.
        self._trained_upto: tuple[float, int] | None = None
        self.retrainer = BackgroundRetrainer(
            lambda: self.train(actor="auto-retrain", reason="feedback")
        )

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

    def local_tags(self, item: TaggingInput, options: ProcessingOptions) -> list[Tag]:
        """Every local tagger's output (not yet aggregated)."""
        tags = self.file_tagger.predict(item) + self.creator_tagger.predict(item)
        zero_shot: list[Tag] = []
        if item.images:
            zero_shot += self.image_tagger.predict(item)
            feats = image_features(item, self.extractor, self.conse)
            tags += self.heads.predict_features(feats, subject_id=item.asset_id)
        if options.accuracy_mode != "fast" or not item.images:
            text_tags = self.text_tagger.predict(item)
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
        local = self.local_tags(item, options)
        local_view = aggregate(local, [], self.taxonomy)
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
        tags = self._select(aggregate(local, cloud_tags, self.taxonomy), options.top_k)
        total_ms = (time.perf_counter() - start) * 1000
        models_used = sorted(
            {t.source_model for t in local + cloud_tags} | self._encoders_used(item)
        )
        quality = calculate_quality_score(tags, total_ms, models_used, self.is_stable)
        processed_at = datetime.now(UTC)
        result = {
            "asset_id": asset_id,
            "tags": [_public(t, self.cfg.output_min_confidence) for t in tags],
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

    def feedback(self, asset_id: str, items: Any, *, role: str, actor: str) -> dict[str, Any]:
        """Record confirmations/rejections; they train the next head if the owner allows.
        In the same transaction, confirmed tags join the asset's own tags and rejected
        ones written back earlier leave them (``agora.tagging.writeback``)."""
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {list(ROLES)}")
        parsed = parse_feedback(items, self.taxonomy)
        owner = self._asset(asset_id).seller_id
        flags = self.consent.get(owner)
        with self.db.session() as s:
            asset = s.get(AssetRow, asset_id, with_for_update=True)
            if asset is None:
                raise NotFound(f"asset {asset_id!r} not found")
            suggested, first = first_reviews(s, asset_id, parsed)
            for (category, label), verdict in parsed:
                s.add(TagFeedbackRow(
                    asset_id=asset_id, owner_id=owner, category=category, label=label,
                    verdict=verdict, role=role, actor=actor[:128],
                ))  # fmt: skip
            written = write_back(s, asset, dict(parsed), self.taxonomy, actor)
            self.audit.record(
                actor, "tagging.feedback", "asset", asset_id, consent_version=flags.version,
                details={"role": role, "items": [[c, n, v] for (c, n), v in parsed],
                         "used_for_training": flags.allows_model_training},
                session=s,
            )  # fmt: skip
            if written.changed:  # the entry of any asset change (AssetService.update)
                details = {"fields": ["tags"], "added": written.added, "removed": written.removed}
                self.audit.record(actor, "asset.updated", "asset", asset_id, details=details,
                                  session=s)  # fmt: skip
            status = asset.status
        if written.changed:
            announce_tags_changed(self.bus, asset_id, status)
        self.heads.report_feedback(suggested, first)  # acceptance per heads version (canary)
        due = self.retrain_due()
        started = due and self.cfg.auto_retrain and self.retrainer.start()
        return {
            "asset_id": asset_id, "recorded": len(parsed),
            "used_for_training": flags.allows_model_training,
            "consent_version": flags.version, "retrain_due": due, "retrain_started": started,
            "tags": written.tags, "added": written.added, "removed": written.removed,
        }  # fmt: skip

    def retrain_due(self) -> bool:
        """Enough new consented feedback since the newest heads' training snapshot
        (gated in or not: a rejected retrain waits for more feedback)."""
        now, cached = time.monotonic(), self._trained_upto
        if cached is None or now - cached[0] >= self.heads.refresh_s:
            cached = self._trained_upto = (now, last_trained_feedback(self.models))
        last = cached[1]
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
        """Train new heads now through the gated pipeline (single-flight).

        Returns the pipeline's outcome (``decision``: champion, challenger or
        rejected); ``InvalidInput`` when too few confirmed tags for a holdout.
        """
        from agora.tagging.pipeline import gated_heads_training

        with self._train_lock:
            out = gated_heads_training(
                self, ctx, holdout=holdout, seed=seed, reason=reason, actor=actor
            )
            self.heads.refresh()  # serve a new champion (or canary) now, not at the next lookup
            self._trained_upto = None
        ref = ModelRef(HEADS_MODEL, str(out["version"]))
        self.audit.record(actor, "tagging.heads_trained", "model", ref.name, model=ref,
                          details={"decision": out["decision"]})  # fmt: skip
        return out


def _public(tag: Tag, floor: float) -> dict[str, Any]:
    out = tag.to_dict()
    if not out["agreed_by"]:
        out.pop("agreed_by")
    out["above_threshold"] = tag.confidence >= floor
    return out


def _iso(ts: datetime) -> str:
    return (ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts).isoformat()
