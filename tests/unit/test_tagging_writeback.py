"""Confirmed tags written back to an asset: idempotent, never at a creator tag's expense."""

from __future__ import annotations

from sqlalchemy import select

from agora.storage.database import Database
from agora.storage.tables import AssetRow, SellerRow
from agora.tagging.tables import TagWritebackRow
from agora.tagging.taxonomy import Taxonomy
from agora.tagging.writeback import MAX_ASSET_TAGS, Writeback, write_back

TAX = Taxonomy.default()
CONFIRM, REJECT = "confirm", "reject"


def _asset(db: Database, tags: list[str]) -> None:
    with db.session() as s:
        s.add(SellerRow(id="s1", name="Forge"))
        s.flush()
        s.add(AssetRow(id="a1", seller_id="s1", title="Tank", creator_tags=tags))


def _apply(db: Database, verdicts: dict[tuple[str, str], str]) -> tuple[Writeback, int]:
    with db.session() as s:
        row = s.get(AssetRow, "a1", with_for_update=True)
        assert row is not None
        result = write_back(s, row, verdicts, TAX, "key:k1")
    with db.session() as s:
        row = s.get(AssetRow, "a1")
        assert row is not None and row.creator_tags == result.tags
        return result, row.revision


def _ours(db: Database) -> set[str]:
    with db.session() as s:
        return set(s.scalars(select(TagWritebackRow.tag)))


def test_confirmations_add_labels_once_and_rejections_remove_only_them(db: Database) -> None:
    _asset(db, ["Spritesheet", "retro"])
    confirm = {("art_style", "pixel_art"): CONFIRM, ("object_type", "sprite_sheet"): CONFIRM}
    first, revision = _apply(db, confirm)
    assert first.added == ["pixel art"] and first.tags == ["Spritesheet", "retro", "pixel art"]
    assert revision == 2 and _ours(db) == {"pixel art"}
    again, same = _apply(db, confirm)
    assert not again.changed and again.tags == first.tags and same == revision
    reject = {("art_style", "pixel_art"): REJECT, ("theme", "retro"): REJECT}
    back, revision = _apply(db, reject)
    assert back.removed == ["pixel art"] and back.tags == ["Spritesheet", "retro"]
    assert revision == 3 and _ours(db) == set()
    # A creator's tag is theirs: rejecting it again changes nothing.
    assert not _apply(db, {("object_type", "sprite_sheet"): REJECT})[0].changed


def test_confirmed_again_after_a_rejection_is_written_again(db: Database) -> None:
    _asset(db, [])
    key = ("object_type", "enemy")
    assert _apply(db, {key: CONFIRM})[0].added == ["enemy"]
    assert _apply(db, {key: REJECT})[0].removed == ["enemy"]
    assert _apply(db, {key: CONFIRM})[0].added == ["enemy"] and _ours(db) == {"enemy"}


def test_a_full_asset_takes_no_more_tags(db: Database) -> None:
    tags = [f"t{i}" for i in range(MAX_ASSET_TAGS)]
    _asset(db, tags)
    result, revision = _apply(db, {("object_type", "enemy"): CONFIRM})
    assert not result.changed and result.tags == tags and revision == 1
