"""Continuous-training triggers: 100k new interactions, PSI > 0.2 on a monitored feature."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agora.api.app import create_app
from agora.config import Settings
from agora.demo.simulator import Behaviour, SessionSimulator, SimAsset
from agora.mlops.drift_status import DriftStatus
from agora.mlops.monitoring.tasks import drift_check, trigger_check
from agora.mlops.serving_report import ServingReports
from agora.mlops.tables import TrainingRunRow
from agora.mlops.training.tasks import train_ctr
from agora.ranking.traffic import FeedTraffic
from agora.runtime import Platform
from agora.storage.tables import AssetRow, InteractionRow, SellerRow, UserRow
from agora.testing.api import bearer


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    built = Platform.build(Settings.load(data_dir=tmp_path))
    yield built
    built.close()


def _catalog(platform: Platform, n: int = 30) -> list[SimAsset]:
    assets = [
        SimAsset(f"a{i}", ("tiles", "items", "enemies")[i % 3], 1.0 + i % 5) for i in range(n)
    ]
    with platform.db.session() as s:
        s.add(SellerRow(id="s1"))
        s.flush()
        s.add_all(
            AssetRow(
                id=a.asset_id,
                seller_id="s1",
                title=a.asset_id,
                category=a.category,
                price=Decimal(str(a.price)),
                status="active",
            )
            for a in assets
        )
    return assets


def _bulk_interactions(platform: Platform, n: int, start_id: int = 0) -> None:
    """Insert ``n`` interactions in one executemany (what a busy day of events looks like)."""
    now = datetime.now(UTC)
    rows = [
        {
            "event_id": f"e{start_id + i}",
            "user_id": "u1",
            "asset_id": "a0",
            "type": "view",
            "ts": now - timedelta(seconds=i % 86400),
            "context": {},
        }
        for i in range(n)
    ]
    with platform.db.session() as s:
        s.execute(InteractionRow.__table__.insert(), rows)


def _queued_training(platform: Platform) -> list[dict]:
    return [j for j in platform.jobs.list(kind="task:train.ctr") if j["status"] == "queued"]


def test_more_than_100k_new_interactions_trigger_retraining(platform: Platform) -> None:
    _catalog(platform)
    with platform.db.session() as s:
        s.add(UserRow(id="u1"))
        s.add(
            TrainingRunRow(
                id="r0",
                model_name="ranking-pctr",
                family="ctr",
                status="succeeded",
                interactions_max_id=0,
            )
        )
    _bulk_interactions(platform, 100_000)
    result = trigger_check(platform)
    assert result["submitted"] == [] and result["models"][0]["new_interactions"] == 100_000
    _bulk_interactions(platform, 1, start_id=100_000)
    result = trigger_check(platform)
    assert len(result["submitted"]) == 1
    (job,) = _queued_training(platform)
    assert "100001 new interactions > 100000" in job["params"]["reason"]
    # A queued retraining is not submitted twice.
    assert trigger_check(platform)["submitted"] == []


def test_psi_above_threshold_on_a_feature_triggers_retraining(tmp_path: Path) -> None:
    # Catalog snapshots refresh at once, so a repricing shows in the very next served list.
    platform = Platform.build(Settings.load(data_dir=tmp_path, ranking={"catalog_refresh_s": 0}))
    try:
        assets = _catalog(platform)
        now = datetime.now(UTC)
        users = [f"u{i}" for i in range(150)]
        with platform.db.session() as s:
            s.add_all(UserRow(id=u) for u in users)
        sim = SessionSimulator(assets, users, seed=5, end=now, behaviour=Behaviour(click_scale=0.9))
        traffic = FeedTraffic(platform.ranking, platform.event_ingest, sim, n=10)
        # Served lists from two days ago until yesterday; the champion learns from them.
        traffic.run([(users[i % 150], now - timedelta(hours=48 - 0.08 * i)) for i in range(300)])
        trained = train_ctr(platform, end=(now - timedelta(hours=20)).isoformat(), n_estimators=20)
        assert trained["decision"] == "champion"
        # Nothing served in the drift window yet (the lists are a day old): said, not 404.
        scorer = platform.settings.ranking.scorer
        reports = ServingReports(platform.models, platform.serving, ranking_scorer=scorer)
        status = DriftStatus(platform.drift_sources(), reports).of("ranking-pctr")
        assert (status.state, status.version, status.report) == ("no_recent_data", "1", None)
        assert "/api/v1/feed/{user_id}" in status.detail

        # The marketplace reprices everything x20: today's served lists carry other prices.
        with platform.db.session() as s:
            for row in s.scalars(select(AssetRow)):
                row.price = row.price * 20
        traffic.run([(users[i % 150], now - timedelta(hours=10 - 0.05 * i)) for i in range(100)])

        checked = drift_check(platform)
        drift = checked["models"][0]
        assert "log_price" in drift["drifted"]
        assert Path(drift["report"]).read_text().count("<svg") > 0
        # Stored: PSI and KS of every feature at this check, and one open drift alert.
        (stored,) = platform.drift_history.checks("ranking-pctr")
        by_name = {f.name: f for f in stored.features}
        assert stored.version == "1" and by_name["log_price"].drifted
        assert by_name["log_price"].psi == pytest.approx(drift["max_psi"])
        assert by_name["log_price"].ks_pvalue is not None and by_name["log_price"].ks_pvalue < 0.05
        (alert,) = platform.alerts.page(kind="drift", state="open").items
        assert checked["alerts"]["opened"] == [alert.id]
        assert (alert.subject, alert.threshold) == ("ranking-pctr", 0.2)
        assert alert.value == pytest.approx(drift["max_psi"]) and "log_price" in alert.message
        # Measured again with the drift still there: the same alert, seen twice.
        assert drift_check(platform)["alerts"]["refreshed"] == [alert.id]
        assert platform.alerts.get(alert.id).occurrences == 2
        assert len(platform.drift_history.checks("ranking-pctr")) == 2
        # The API measures the same drift now, on the version that serves.
        with TestClient(create_app(platform, start_background=False)) as client:
            h = bearer(platform.keys.create(["read"]).token)
            r = client.get("/api/v1/models/ranking-pctr/drift", headers=h)
            page = client.get("/api/v1/models/ranking-pctr/drift/report", headers=h)
        assert r.status_code == 200, r.text
        measured = r.json()
        assert (measured["state"], measured["version"], measured["role"]) == (
            "measured",
            "1",
            "champion",
        )
        assert measured["drifted"] is True and measured["n_current"] > 0
        worst = measured["features"][0]
        assert worst["name"] == "log_price" and worst["drifted"]
        assert worst["psi"] == pytest.approx(drift["max_psi"])
        assert "log_price" in measured["detail"]
        assert page.status_code == 200 and page.text.count("<svg") > 0
        result = trigger_check(platform)
        decision = result["models"][0]
        assert decision["max_psi"] > 0.2 and decision["max_psi_feature"] == "log_price"
        assert decision["new_interactions"] < 100_000 and len(result["submitted"]) == 1
        (job,) = _queued_training(platform)
        assert "psi" in job["params"]["reason"] and "log_price" in job["params"]["reason"]
    finally:
        platform.close()
