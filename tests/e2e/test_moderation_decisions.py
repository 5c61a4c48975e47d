"""A moderator decision changes the queue item and the asset in one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import select

from agora.api.schemas.moderation import ModerationItem, ModerationQueuePage
from agora.config import Settings
from agora.moderation.queue import QueueFilter
from agora.runtime import Platform
from agora.storage.tables import AuditEntryRow, SellerRow
from agora.testing.api import drain_pipeline


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    # No trained models: the contact-diversion rule alone flags the listing.
    pipeline = {"disabled_steps": ["index", "tagging"]}
    p = Platform.build(Settings.load(data_dir=tmp_path / "agora", pipeline=pipeline))
    with p.db.session() as s:
        s.add(SellerRow(id="s1", name="Forge"))
    p.consent.put("s1", {"allows_model_training": True}, actor="test")
    yield p
    p.close()


def _flagged_item(platform: Platform) -> tuple[str, str]:
    created = platform.assets.create(
        {"title": "Tank", "description": "whatsapp me on 0812 345 6789", "seller_id": "s1"},
        [],
        [],
        "test",
    )
    drain_pipeline(platform)
    assert platform.assets.get(created.asset_id)["status"] == "flagged"
    items = platform.moderation_queue.items(QueueFilter())["items"]
    item = next(i for i in items if i["asset_id"] == created.asset_id)
    return item["id"], created.asset_id


class Boom(RuntimeError):
    pass


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_failure_between_item_and_asset_changes_neither(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, decision: str
) -> None:
    item_id, asset_id = _flagged_item(platform)
    queue = platform.moderation_queue
    record = platform.audit.record

    def failing(actor: str, action: str, *args: Any, **kwargs: Any) -> Any:
        # The asset's audit entry is written after the item changed: fail there.
        if action == "asset.updated":
            raise Boom("catalog write failed")
        return record(actor, action, *args, **kwargs)

    monkeypatch.setattr(platform.audit, "record", failing)
    with pytest.raises(Boom):
        queue.decide(item_id, decision, "key:mod", labels=["spam"])
    assert queue.get(item_id)["state"] == "open"
    assert queue.get(item_id)["decision"] is None
    assert platform.assets.get(asset_id)["status"] == "flagged"
    assert queue.examples() == []
    monkeypatch.setattr(platform.audit, "record", record)
    actions = [e.action for e in _audit(platform, asset_id)]
    assert f"moderation.{decision}" not in actions

    # Retried once the failure is gone: both change, with the example and audit entries.
    out = queue.decide(item_id, decision, "key:mod", labels=["spam"])
    assert out["state"] == {"approve": "approved", "reject": "rejected"}[decision]
    expected = {"approve": "active", "reject": "banned"}[decision]
    assert platform.assets.get(asset_id)["status"] == expected
    assert len(queue.examples()) == 1
    actions = [e.action for e in _audit(platform, asset_id)]
    assert f"moderation.{decision}" in actions and "asset.updated" in actions


def _audit(platform: Platform, asset_id: str) -> list[Any]:
    with platform.db.session() as s:
        return list(s.scalars(select(AuditEntryRow).where(AuditEntryRow.subject_id == asset_id)))


def test_a_verdict_is_the_outcome_of_the_classifier_versions_that_flagged_the_item(
    platform: Platform,
) -> None:
    """Each final decision is an impression of the text classifier versions whose reasons
    flagged the item, a rejection (flag upheld) also a click. Classifiers that did not flag,
    escalations, unsaved models and a re-decision after an appeal count not."""
    from agora.mlops.canary_judge import version_stats
    from agora.moderation.tables import ModerationItemRow

    flags = [
        {"source": "spam", "detail": "moderation-spam@2 p=0.91", "severity": "review"},
        {"source": "hate", "detail": "moderation-toxicity@3 p=0.07", "severity": "approve"},
        {
            "source": "offensive",
            "detail": "moderation-toxicity@unsaved p=0.9",
            "severity": "review",
        },
    ]
    queue = platform.moderation_queue
    items = {}
    for decision in ("reject", "approve"):
        item_id, _ = _flagged_item(platform)
        items[decision] = item_id
        with platform.db.session() as s:
            row = s.get(ModerationItemRow, item_id)
            assert row is not None
            row.reasons = [*row.reasons, *flags]
        queue.decide(item_id, "escalate", "key:mod")
        queue.decide(item_id, decision, "key:admin")
    spam = version_stats(platform.db, "moderation-spam", "2", None)
    assert (spam.impressions, spam.clicks, spam.ctr) == (2, 1, 0.5)
    for version in ("3", "unsaved"):
        assert version_stats(platform.db, "moderation-toxicity", version, None).impressions == 0
    # The seller appeals the rejection and the moderator overturns it: already counted.
    queue.appeal(items["reject"], "s1", "it is a legit listing", "key:s1")
    queue.decide(items["reject"], "approve", "key:mod")
    after = version_stats(platform.db, "moderation-spam", "2", None)
    assert (after.impressions, after.clicks) == (2, 1)
    # A seller contesting a hold (an open item): its first decision counts.
    held, _ = _flagged_item(platform)
    with platform.db.session() as s:
        row = s.get(ModerationItemRow, held)
        assert row is not None
        row.reasons = [*row.reasons, *flags]
    queue.appeal(held, "s1", "please look again", "key:s1")
    queue.decide(held, "reject", "key:mod")
    last = version_stats(platform.db, "moderation-spam", "2", None)
    assert (last.impressions, last.clicks) == (3, 2)


def _exact(model: type[BaseModel], view: dict[str, Any]) -> None:
    """The view validates against the response model and declares no field the model lacks
    (``ResponseModel`` ignores extra fields: an undeclared one would vanish silently)."""
    model.model_validate(view)
    assert set(view) <= set(model.model_fields), set(view) - set(model.model_fields)


def test_items_match_the_response_model_in_every_state(platform: Platform) -> None:
    item_id, _ = _flagged_item(platform)
    queue = platform.moderation_queue
    _exact(ModerationItem, queue.get(item_id))
    _exact(ModerationQueuePage, queue.items(QueueFilter(state="pending")))
    _exact(ModerationItem, queue.decide(item_id, "escalate", "key:mod", note="ask legal"))
    rejected = queue.decide(item_id, "reject", "key:mod", labels=["spam"])
    _exact(ModerationItem, rejected)
    appealed = queue.appeal(item_id, "s1", "It is our shop's number", "key:seller")
    _exact(ModerationItem, appealed)
    assert ModerationItem.model_validate(appealed).appeal is not None
    page = ModerationQueuePage.model_validate(queue.items(QueueFilter(state="appealed")))
    assert [i.id for i in page.items] == [item_id] and page.items[0].priority is not None
