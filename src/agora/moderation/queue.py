"""The human review queue: items, priorities, decisions, appeals, feedback.

Items come from the pipeline's recorded ``moderation`` and ``codereview`` results (``sync``
reads them past a watermark, idempotently by job id) and from rescans.
Moderators approve (asset -> ``active``), reject (asset -> ``banned``) or
escalate; sellers appeal a rejection. Every decision and appeal is audited
with the model versions that raised the item. A decision on a seller who
allows model training becomes a labelled example for the next training run.

Priority puts the riskiest, most-seen items first:
``(max(risk, asset_risk) + 1 if block + 0.5 if appealed) * (1 + log10(1 + reach))``
where ``reach`` is the asset's recorded interactions and ``asset_risk`` the
asset's risk score from the ``scores`` step (``agora.quality.risk``: scan,
duplicates of others' work, 3D checks, seller trust and history, anomaly), so
a listing that moderation's text scores find harmless still rises when its
files or its seller are risky.

Example:
    >>> queue = platform.moderation_queue  # doctest: +SKIP
    >>> items = queue.items(QueueFilter(state="open"))["items"]  # doctest: +SKIP
    >>> queue.decide(items[0]["id"], "approve", actor="key:ab12")  # doctest: +SKIP
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agora.domain import AssetStatus
from agora.errors import Conflict, Forbidden, InvalidInput, NotFound
from agora.moderation.decisions import (
    LABELS,
    publish_status_change,
    report_decision,
    set_asset_status,
    training_example,
)
from agora.moderation.metrics import DECISIONS
from agora.moderation.tables import ModerationExampleRow, ModerationItemRow, ModerationSyncRow
from agora.quality.results import latest_scores
from agora.storage.tables import AssetRow, InteractionRow, ProcessingResultRow

if TYPE_CHECKING:
    from agora.bus.base import EventBus
    from agora.features.overrides import OverrideStore
    from agora.governance.audit import AuditLog
    from agora.governance.consent import ConsentRegistry
    from agora.mlops.canary import CanaryMonitor
    from agora.moderation.score import SafetyAssessment
    from agora.storage.database import Database

DECISION_STATUS = {"approve": AssetStatus.ACTIVE, "reject": AssetStatus.BANNED}
DECISIONS_ALLOWED = ("approve", "reject", "escalate")
DECISION_STATE = {"approve": "approved", "reject": "rejected", "escalate": "escalated"}
OPEN_STATES = ("open", "escalated", "appealed")
_SYNC = "pipeline"


# Recorded step results that queue their asset: moderation's flags and blocks,
# and uploads held as copies of another seller's asset (the original linked).
@dataclass(frozen=True)
class QueueFilter:
    """Filters of ``GET /moderation/queue``."""

    state: str | None = "open"
    kind: str | None = None
    seller_id: str | None = None
    language: str | None = None
    min_risk: float | None = None
    limit: int = 50
    offset: int = 0


def item_view(
    row: ModerationItemRow, reach: int | None = None, asset_risk: float | None = None
) -> dict[str, Any]:
    """API representation of a queue item."""
    out = {
        "id": row.id,
        "asset_id": row.asset_id,
        "seller_id": row.seller_id,
        "source": row.source,
        "kind": row.kind,
        "state": row.state,
        "safety_score": row.safety_score,
        "risk": round(row.risk, 4),
        "recommended_action": row.recommended_action,
        "language": row.language,
        "reasons": row.reasons,
        "scores": row.scores,
        "models": row.models,
        "decision": row.decision,
        "decided_by": row.decided_by,
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        "note": row.note,
        "appeal": row.appeal or None,
        "created_at": row.created_at.isoformat(),
    }
    if reach is not None:
        out["reach"] = reach
        out["priority"] = round(priority(row, reach, asset_risk), 4)
        out["asset_risk"] = asset_risk
    return out


def priority(row: ModerationItemRow, reach: int, asset_risk: float | None = None) -> float:
    """The queue order (module docstring); ``asset_risk`` from the ``scores`` step."""
    base = max(row.risk, asset_risk or 0.0) + (1.0 if row.kind == "block" else 0.0)
    base += 0.5 if row.state == "appealed" else 0.0
    return base * (1.0 + math.log10(1 + reach))


QUEUED_STEPS = ("moderation", "codereview", "duplicates")


def _item_fields(asset_id: str, seller_id: str | None, out: dict[str, Any]) -> dict[str, Any]:
    kind = {"block": "block", "post_hoc": "post_hoc"}.get(out.get("decision", ""), "review")
    text = out.get("text") or {}
    score = out.get("safety_score")
    return {
        "asset_id": asset_id,
        "seller_id": seller_id,
        "kind": kind,
        "safety_score": score,
        # A post-hoc item has no score: middling risk until the batch review.
        "risk": 1.0 - score if score is not None and out.get("decision") != "post_hoc" else 0.3,
        "recommended_action": out.get("recommended_action", "review"),
        "language": text.get("language"),
        "reasons": out.get("reasons") or [],
        "scores": (text.get("scores") or {})
        | {f"image.{i}": im.get("safety") for i, im in enumerate(out.get("images") or [])},
        "models": out.get("models") or [],
    }


class ModerationQueue:
    """Queue operations on the catalog database."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        bus: EventBus,
        consent: ConsentRegistry,
        overrides: OverrideStore,
        monitor: CanaryMonitor,
    ) -> None:
        """``overrides`` keep an admin ban above an approval; ``monitor`` credits
        verdicts to the classifier versions that raised the item (canary)."""
        self.db, self.audit, self.bus = db, audit, bus
        self.consent, self.overrides, self.monitor = consent, overrides, monitor

    # -- filling -------------------------------------------------------------

    def _insert(self, s: Session, dedupe_key: str, source: str, fields: dict[str, Any]) -> bool:
        if s.scalar(select(ModerationItemRow.id).where(ModerationItemRow.dedupe_key == dedupe_key)):
            return False
        s.add(
            ModerationItemRow(
                id=uuid.uuid4().hex, dedupe_key=dedupe_key, source=source, state="open", **fields
            )
        )
        return True

    def sync(self, batch: int = 500) -> int:
        """Queue the pipeline's recorded moderation results not seen yet; returns how many."""
        # Imported here: the duplicates package pulls OpenCV and trimesh in.
        from agora.quality.duplicates.review import queue_fields as duplicate_fields

        added = 0
        for _ in range(3):  # a concurrent sync may insert the same key: retry
            try:
                with self.db.session() as s:
                    mark = s.get(ModerationSyncRow, _SYNC, with_for_update=True)
                    if mark is None:
                        mark = ModerationSyncRow(name=_SYNC, last_result_id=0)
                        s.add(mark)
                        s.flush()
                    rows = s.execute(
                        select(ProcessingResultRow, AssetRow.seller_id)
                        .join(AssetRow, AssetRow.id == ProcessingResultRow.asset_id)
                        .where(
                            # Code review and duplicates queue their held results too.
                            ProcessingResultRow.step.in_(QUEUED_STEPS),
                            ProcessingResultRow.id > mark.last_result_id,
                        )
                        .order_by(ProcessingResultRow.id)
                        .limit(batch)
                    ).all()
                    for result, seller_id in rows:
                        out = result.output or {}
                        if result.step == "duplicates":
                            if out.get("held"):
                                fields = duplicate_fields(
                                    result.asset_id, seller_id, out, result.model
                                )
                                key = f"duplicates:{result.job_id}"
                                added += self._insert(s, key, "pipeline", fields)
                        elif out.get("queue"):
                            fields = _item_fields(result.asset_id, seller_id, out)
                            key = f"job:{result.job_id}"
                            if result.step != "moderation":  # one item per step and job
                                key += f":{result.step}"
                            added += self._insert(s, key, "pipeline", fields)
                        mark.last_result_id = result.id
                if len(rows) < batch:
                    return added
            except IntegrityError:
                continue
        return added

    def enqueue(
        self, asset_id: str, assessment: SafetyAssessment, *, source: str, dedupe_key: str
    ) -> bool:
        """Queue an assessment made outside the pipeline (a rescan); idempotent by key."""
        with self.db.session() as s:
            seller = s.scalar(select(AssetRow.seller_id).where(AssetRow.id == asset_id))
            fields = _item_fields(asset_id, seller, assessment.to_dict())
            try:
                return self._insert(s, dedupe_key, source, fields)
            except IntegrityError:
                return False

    # -- reading -------------------------------------------------------------

    def _reach(self, s: Session, asset_ids: list[str]) -> dict[str, int]:
        if not asset_ids:
            return {}
        rows = s.execute(
            select(InteractionRow.asset_id, func.count())
            .where(InteractionRow.asset_id.in_(asset_ids))
            .group_by(InteractionRow.asset_id)
        )
        return {a: int(n) for a, n in rows}

    def _asset_risk(self, s: Session, asset_ids: list[str]) -> dict[str, float]:
        """The newest ``scores`` risk of each asset that has one."""
        scores = latest_scores(s, asset_ids) if asset_ids else {}
        return {a: v["risk"] for a, v in scores.items() if "risk" in v}

    def items(self, flt: QueueFilter) -> dict[str, Any]:
        """Items matching the filters, highest priority first."""
        self.sync()
        q = select(ModerationItemRow)
        if flt.state:
            states = OPEN_STATES if flt.state == "pending" else (flt.state,)
            q = q.where(ModerationItemRow.state.in_(states))
        for column, value in (
            (ModerationItemRow.kind, flt.kind),
            (ModerationItemRow.seller_id, flt.seller_id),
            (ModerationItemRow.language, flt.language),
        ):
            if value is not None:
                q = q.where(column == value)
        if flt.min_risk is not None:
            q = q.where(ModerationItemRow.risk >= flt.min_risk)
        # Priority needs reach, so rank the newest 5,000 matches in memory.
        with self.db.session() as s:
            rows = list(s.scalars(q.order_by(ModerationItemRow.created_at.desc()).limit(5000)))
            ids = [r.asset_id for r in rows]
            reach, risk = self._reach(s, ids), self._asset_risk(s, ids)
            ranked = sorted(
                rows, key=lambda r: -priority(r, reach.get(r.asset_id, 0), risk.get(r.asset_id))
            )
            page = ranked[flt.offset : flt.offset + flt.limit]
            items = [item_view(r, reach.get(r.asset_id, 0), risk.get(r.asset_id)) for r in page]
        return {"items": items, "total": len(ranked), "offset": flt.offset, "limit": flt.limit}

    def get(self, item_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            row = s.get(ModerationItemRow, item_id)
            if row is None:
                raise NotFound(f"moderation item {item_id!r} not found")
            reach = self._reach(s, [row.asset_id]).get(row.asset_id, 0)
            return item_view(row, reach, self._asset_risk(s, [row.asset_id]).get(row.asset_id))

    # -- deciding ------------------------------------------------------------

    def decide(
        self,
        item_id: str,
        decision: str,
        actor: str,
        *,
        note: str | None = None,
        labels: list[str] | None = None,
    ) -> dict[str, Any]:
        """Apply a moderator decision; audited; feeds training data with consent.

        The item, the asset's status, the audit entries and the training example
        commit in one transaction (``agora.moderation.decisions``).
        """
        if decision not in DECISIONS_ALLOWED:
            raise InvalidInput(f"decision must be one of {list(DECISIONS_ALLOWED)}")
        bad = sorted(set(labels or []) - set(LABELS))
        if bad:
            raise InvalidInput(f"unknown labels {bad}; allowed: {list(LABELS)}")
        with self.db.session() as s:
            row = s.get(ModerationItemRow, item_id, with_for_update=True)
            if row is None:
                raise NotFound(f"moderation item {item_id!r} not found")
            if row.state not in OPEN_STATES:
                raise Conflict(f"item {item_id} was already decided ({row.state})")
            if decision == "approve":
                # An admin ban (global override) is the one truth for the asset's
                # status: approving must not publish what an admin has banned.
                self.overrides.invalidate()
                overrides = self.overrides.active_overrides()
                if overrides.is_banned(row.asset_id, row.seller_id):
                    raise Conflict(
                        f"asset {row.asset_id} or its seller is banned by an admin override; "
                        "lift the override before approving"
                    )
            # A re-decision after an appealed rejection: the first one already counted.
            decided = row.decision in ("approve", "reject")
            flags = [] if decided else list(row.reasons or [])
            row.state = DECISION_STATE[decision]
            row.decision = decision
            row.decided_by = actor
            row.decided_at = datetime.now(UTC)
            row.note = note
            self.audit.record(
                actor,
                f"moderation.{decision}",
                "asset",
                row.asset_id,
                model=",".join(row.models)[:128] or None,
                details={"item_id": item_id, "note": note, "labels": labels or []},
                session=s,
            )
            view = None
            if decision in DECISION_STATUS:
                # Same transaction as the item: a failure anywhere leaves both unchanged.
                view = set_asset_status(
                    self.audit, s, row.asset_id, DECISION_STATUS[decision], actor
                )
                example = training_example(self.consent, row, view, labels or [], actor)
                if example is not None:
                    s.add(example)
        DECISIONS.labels(decision).inc()
        report_decision(self.monitor, flags, decision)
        if view is not None:
            publish_status_change(self.bus, view)
        return self.get(item_id)

    def appeal(self, item_id: str, seller_id: str, message: str, actor: str) -> dict[str, Any]:
        """The seller contests a rejection or a hold: back to the queue, boosted."""
        if not message.strip():
            raise InvalidInput("an appeal needs a message")
        with self.db.session() as s:
            row = s.get(ModerationItemRow, item_id, with_for_update=True)
            if row is None:
                raise NotFound(f"moderation item {item_id!r} not found")
            if row.seller_id != seller_id:
                raise Forbidden("only the asset's seller may appeal")
            if row.state not in ("open", "rejected"):
                raise Conflict(f"item {item_id} cannot be appealed in state {row.state}")
            if row.appeal:
                raise Conflict(f"item {item_id} was appealed already")
            row.appeal = {
                "message": message[:2000],
                "by": actor,
                "at": datetime.now(UTC).isoformat(),
                "previous_state": row.state,
            }
            row.state = "appealed"
            self.audit.record(
                actor,
                "moderation.appeal",
                "asset",
                row.asset_id,
                details={"item_id": item_id, "seller_id": seller_id},
                session=s,
            )
        return self.get(item_id)

    def examples(self) -> list[ModerationExampleRow]:
        """Every labelled example from moderator decisions."""
        with self.db.session() as s:
            return list(s.scalars(select(ModerationExampleRow).order_by(ModerationExampleRow.id)))
