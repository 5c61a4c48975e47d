"""Catalog snapshot -> offline -> online, incremental; and the CLI commands."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agora.cli.main import app
from agora.config import Settings
from agora.features.materialize import materialize, snapshot_catalog
from agora.runtime import Platform


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    p = Platform.build(Settings.load(data_dir=tmp_path / "agora"))
    p.people.upsert_seller("s1", {"trust_score": 0.8, "verified": True}, "t")
    meta = {"title": "Oak", "seller_id": "s1", "category": "art", "stock": 0}
    for aid, price in (("a1", 10), ("a2", 30)):
        p.assets.create(meta | {"id": aid, "price": price}, [], [], "t")
    p.assets.update("a1", {"status": "active"}, "t", may_moderate=True)
    p.assets.update("a2", {"status": "active"}, "t", may_moderate=True)
    p.event_ingest.record(
        [{"user_id": "u1", "asset_id": "a2", "type": "purchase", "value": 30.0}], "t"
    )
    yield p
    p.close()


def test_snapshot_then_incremental_materialize(platform: Platform) -> None:
    assert snapshot_catalog(platform.db, platform.features.offline)["asset_batch"] == 2
    seen: list[tuple[str, int, int]] = []
    done = materialize(platform.features, progress=lambda *a: seen.append(a))
    assert done["asset_batch"] == 2 and ("asset_batch", 2, 2) in seen
    [a1] = platform.features.read_rows(
        "asset", ["a1"], ["price", "category", "stock_status", "seller_trust_score"]
    )
    assert a1 == {"price": 10.0, "category": "art", "stock_status": "out_of_stock",
                  "seller_trust_score": 0.8}  # fmt: skip
    [u1] = platform.features.read_rows("user", ["u1"], ["lifetime_spend", "top_categories_30d"])
    assert u1 == {"lifetime_spend": 30.0, "top_categories_30d": "art"}
    [seller] = platform.features.read_rows("seller", ["s1"])
    assert seller == {"trust_score": 0.8, "verified": True, "active_listings": 2}
    [cat] = platform.features.read_rows("context", ["category:art"], ["avg_category_price_30d"])
    assert cat["avg_category_price_30d"] == 20.0
    # Nothing new since: nothing copied. A new snapshot with a price change: copied.
    assert materialize(platform.features)["asset_batch"] == 0
    platform.assets.update("a1", {"price": 12}, "t", may_moderate=False)
    snapshot_catalog(
        platform.db, platform.features.offline, at=datetime.now(UTC) + timedelta(seconds=1)
    )
    assert materialize(platform.features, ["asset_batch"]) == {"asset_batch": 2}
    assert platform.features.read("asset", ["a1"], ["price"])[0, 0] == 12.0


def test_cli_list_and_materialize(platform: Platform, tmp_path: Path) -> None:
    runner = CliRunner()
    data = str(platform.settings.data_dir)
    out = runner.invoke(app, ["--data-dir", data, "features", "list"])
    assert out.exit_code == 0, out.output
    assert "asset_realtime" in out.output and "user_batch" in out.output
    out = runner.invoke(app, ["--data-dir", data, "features", "materialize"])
    assert out.exit_code == 0, out.output
    assert "asset_batch: 2 entities materialised" in out.output
    out = runner.invoke(app, ["--data-dir", data, "features", "materialize", "--view", "nope"])
    assert out.exit_code != 0
