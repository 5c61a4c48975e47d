"""What a moderator decision changes besides its queue item, in the item's transaction.

A decision moves the queue item, the asset's status, the audit log and (with
the seller's consent) the training examples together: ``ModerationQueue.decide``
calls these helpers with its own session, so one commit applies all of them
and any failure on the way rolls all of them back. The ``asset.updated``
event is published after the commit, as ``AssetService.update`` does: the bus
is not part of the catalog transaction, and a consumer must never see a
status the catalog does not hold.

After the commit, :func:`report_decision` credits the verdict to the text
classifier versions that flagged the item (the canary judge's outcomes).

Example:
    >>> with platform.db.session() as s:  # doctest: +SKIP
    ...     view = set_asset_status(platform.audit, s, "a1", AssetStatus.ACTIVE, "key:ab12")
    >>> publish_status_change(platform.bus, view)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from agora.bus.base import Event, Topics
from agora.catalog.views import asset_view
from agora.domain import AssetStatus, ModelRef
from agora.errors import NotFound
from agora.moderation.tables import ModerationExampleRow, ModerationItemRow
from agora.moderation.text import listing_text
from agora.moderation.text_models import SpamClassifier, ToxicityClassifier
from agora.storage.tables import AssetRow

if TYPE_CHECKING:
    from agora.bus.base import EventBus
    from agora.governance.audit import AuditLog
    from agora.governance.consent import ConsentRegistry
    from agora.mlops.canary import CanaryMonitor

LABELS = ("offensive", "hate", "spam")


def set_asset_status(
    audit: AuditLog, s: Session, asset_id: str, status: AssetStatus, actor: str
) -> dict[str, Any]:
    """Change the asset's status in session ``s`` (locked row, revision, audit); its view."""
    row = s.get(AssetRow, asset_id, with_for_update=True)
    if row is None:
        raise NotFound(f"asset {asset_id!r} not found")
    row.status = status.value
    row.revision += 1
    row.updated_at = datetime.now(UTC)
    s.flush()
    # The same audit entry as any other status change (AssetService.update).
    audit.record(
        actor, "asset.updated", "asset", asset_id, details={"fields": ["status"]}, session=s
    )
    return asset_view(row)


def publish_status_change(bus: EventBus, view: dict[str, Any]) -> None:
    """The ``asset.updated`` event of a committed status change."""
    bus.publish(
        Event(
            Topics.ASSET_UPDATED,
            {
                "asset_id": view["id"],
                "fields": ["status"],
                "status": view["status"],
                "content_changed": False,
            },
            key=view["id"],
        )
    )


def training_example(
    consents: ConsentRegistry,
    item: ModerationItemRow,
    asset: dict[str, Any],
    labels: list[str],
    actor: str,
) -> ModerationExampleRow | None:
    """The labelled example a decision teaches, or None (no consent, nothing learnt).

    Approval says the listing violates nothing; a rejection teaches only the
    labels the moderator named (a rule hit alone teaches the classifiers nothing).
    """
    if item.seller_id is None or item.decision not in ("approve", "reject"):
        return None
    consent = consents.get(item.seller_id)
    if not consent.allows_model_training:
        return None
    if item.decision == "approve":
        label_values = dict.fromkeys(LABELS, 0)
    elif labels:
        label_values = dict.fromkeys(labels, 1)
    else:
        return None
    return ModerationExampleRow(
        item_id=item.id,
        asset_id=item.asset_id,
        text=listing_text(asset),
        labels=label_values,
        decision=item.decision,
        consent_version=consent.version,
        created_by=actor,
    )


CLASSIFIERS = (ToxicityClassifier.name, SpamClassifier.name)
log = logging.getLogger(__name__)


def report_decision(monitor: CanaryMonitor, reasons: Sequence[Any], decision: str) -> int:
    """A final verdict as the outcome of the text classifier versions that flagged the item.

    ``reasons`` are the item's (dicts with ``detail`` "<name>@<version> p=..."
    and ``severity``). Each classifier version with a review or block reason
    gets one impression; a rejection (the flag upheld) is also a click, an
    approval (a false alarm) is not, so the canary judge's CTR floor compares
    the versions' precision on the queue. Classifiers that analysed the text
    without flagging it are not credited. An escalation is no verdict (the
    final decision reports); the caller skips a re-decision after an appeal,
    whose first decision already counted. Returns the outcomes reported.
    """
    if decision not in ("approve", "reject"):
        return 0
    flagged = set()
    for reason in reasons:
        if not isinstance(reason, dict) or reason.get("severity") not in ("review", "block"):
            continue
        name, _, version = str(reason.get("detail", "")).split(" ", 1)[0].partition("@")
        if name in CLASSIFIERS and version and version != "unsaved":
            flagged.add(ModelRef(name, version))
    for ref in flagged:
        monitor.record_outcome(ref, impressions=1, clicks=int(decision == "reject"))
    if flagged:
        try:  # at once: decisions are rare, and a tally could wait for ever
            monitor.flush()
        except Exception:  # a monitoring figure: the decision stands
            log.exception("moderation decision outcomes not written")
    return len(flagged)
