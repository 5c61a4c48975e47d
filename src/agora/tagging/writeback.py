"""Confirmed tags written back to the asset's own ``tags``.

An asset's ``tags`` (catalog column ``creator_tags``) are what the asset JSON
shows, what search filters on and what the keyword index (BM25) reads. A tag
confirmed through feedback joins them, spelled as its taxonomy label with
spaces (``pixel_art`` -> ``pixel art``: the form creators write, and the
keyword analyser's words), and a ``tag_writebacks`` row remembers that Agora
wrote it. A later rejection removes exactly the tags Agora wrote: the
creator's own tags are never removed, and a tag the asset already has under
any of its names (``Spritesheet`` for ``sprite_sheet``) is not added again,
so repeating a confirmation changes nothing. A written tag the creator deletes
(``PATCH``) is forgotten at the asset's next feedback, and is theirs if they add
it again afterwards; deleted and added again between two feedbacks on the
asset, it still counts as written back.

Only confirmations write back. The tagging step's predictions, however
confident, stay suggestions (``GET /assets/{id}/tags``): the tagging ADR (seed
002) defines its output as a response with per-tag confidences and a quality
score, and says nothing of changing the listing; and a predicted tag written
into the asset's tags would come back as a creator tag, a training positive
for the next heads (the model teaching itself its own guesses).

Example:
    >>> tag_text("pixel_art")
    'pixel art'
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from agora.bus.base import Event, Topics
from agora.storage.tables import AssetRow
from agora.tagging.heads import TagKey
from agora.tagging.tables import TagWritebackRow
from agora.tagging.taxonomy import Taxonomy

if TYPE_CHECKING:
    from agora.bus.base import EventBus

log = logging.getLogger("agora.tagging")
MAX_ASSET_TAGS = 64  # the catalog's limit on an asset's tags (AssetMetadata.tags)
MAX_TAG_CHARS = 64


def tag_text(label: str) -> str:
    """The asset tag written for a taxonomy label."""
    return label.replace("_", " ")


@dataclass(frozen=True)
class Writeback:
    """The asset's tags after feedback, and what this feedback changed."""

    tags: list[str]
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def write_back(
    s: Session, asset: AssetRow, verdicts: Mapping[TagKey, str], taxonomy: Taxonomy, actor: str
) -> Writeback:
    """Apply the latest verdict per tag to ``asset`` (a row locked in session ``s``).

    Bumps the asset's revision and ``updated_at`` when its tags change; the
    caller publishes ``asset.updated`` after the commit.
    """
    ours = {
        (r.category, r.label): r
        for r in s.scalars(select(TagWritebackRow).where(TagWritebackRow.asset_id == asset.id))
    }
    tags = [t for t in asset.creator_tags or [] if isinstance(t, str)]
    for key, row in list(ours.items()):
        # The creator removed it since (PATCH): no longer Agora's to manage.
        if row.tag not in tags:
            s.delete(row)
            del ours[key]
    s.flush()  # deletions first: a confirmation below may write the same key again
    added: list[str] = []
    removed: list[str] = []
    for key, verdict in verdicts.items():
        if verdict == "reject":
            if key in ours:
                row = ours.pop(key)
                tags.remove(row.tag)
                removed.append(row.tag)
                s.delete(row)
            continue
        text = tag_text(key[1])
        if any(taxonomy.resolve(t) == key for t in tags):
            continue  # the asset has it already, under this or another of its names
        if len(tags) >= MAX_ASSET_TAGS or len(text) > MAX_TAG_CHARS:
            continue
        tags.append(text)
        added.append(text)
        s.add(TagWritebackRow(
            asset_id=asset.id, category=key[0], label=key[1], tag=text, actor=actor[:128]
        ))  # fmt: skip
    if added or removed:
        asset.creator_tags = tags
        asset.revision += 1
        asset.updated_at = datetime.now(UTC)
    return Writeback(tags, added, removed)


def announce_tags_changed(bus: EventBus | None, asset_id: str, status: str) -> None:
    """``asset.updated`` for a committed tag change: the search indexes re-index the
    asset (``agora.search.consumer``), like after a ``PATCH`` of its tags."""
    if bus is None:  # a pipeline worker's service: it records no feedback
        log.warning("asset %s: tags changed without a bus to announce it", asset_id)
        return
    payload = {"asset_id": asset_id, "fields": ["tags"], "status": status,
               "content_changed": True}  # fmt: skip
    bus.publish(Event(Topics.ASSET_UPDATED, payload, key=asset_id))
