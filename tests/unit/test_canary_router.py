"""The canary router's per-user choice and its comparison groups (no registry reads)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agora.config import Settings
from agora.mlops.canary import CanaryRouter
from agora.mlops.registry import Deployment
from agora.runtime import Platform


def _dep(share: float | None, challenger: str | None = "2") -> Deployment:
    return Deployment("reco-ease", "1", challenger, share, None, 1)


def _router() -> CanaryRouter:
    registry: Any = None  # choose/compared take the deployment row; no registry read
    return CanaryRouter(registry, default_share=0.05)


def test_comparison_groups_are_the_challengers_share_and_an_equal_champion_slice() -> None:
    router, dep = _router(), _dep(0.1)
    users = [f"u{k}" for k in range(5000)]
    compared = [u for u in users if router.compared(dep, u)]
    challenger = [u for u in users if router.serves_challenger(dep, u)]
    assert set(challenger) <= set(compared)
    champion = len(compared) - len(challenger)
    assert 400 <= len(challenger) <= 600 and 400 <= champion <= 600  # ~10% each
    everyone = _dep(0.6)
    assert all(router.compared(everyone, u) for u in users[:200])  # 2 x share > 1


def test_no_canary_no_user_or_the_default_share() -> None:
    router = _router()
    assert not router.compared(_dep(0.1, challenger=None), "u1")
    assert not router.compared(None, "u1")
    assert not router.compared(_dep(0.1), None)
    default = [u for u in (f"u{k}" for k in range(4000)) if router.compared(_dep(None), u)]
    assert 280 <= len(default) <= 520  # 2 x the router's default 5%


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[tuple[Platform, list[str]]]:
    """A platform whose ``reco-ease`` has a champion (version 1) and a challenger (2)."""
    platform = Platform.build(Settings.load(data_dir=tmp_path / "agora"))
    try:
        versions = [platform.models.save("reco-ease", {"v": k}).version for k in (1, 2)]
        registry = platform.model_registry
        registry.promote("reco-ease", versions[0], actor="t", reason="first")
        registry.challenge("reco-ease", versions[1], actor="t", reason="gate", canary_share=0.1)
        yield platform, versions
    finally:
        platform.close()


def test_the_ctr_floor_waits_for_impressions_then_judges_the_ratio(
    canary: tuple[Platform, list[str]],
) -> None:
    from datetime import UTC, datetime, timedelta

    from agora.config import MlopsSettings
    from agora.mlops.canary_judge import CanaryJudge
    from agora.mlops.tables import CanaryObservationRow

    platform, versions = canary
    registry = platform.model_registry
    cfg = MlopsSettings(canary_min_ctr_ratio=0.8, canary_min_impressions=100)
    judge = CanaryJudge(registry, cfg)
    later = datetime.now(UTC) + timedelta(seconds=cfg.canary_window_s + 1)

    def observe(version: str, impressions: int, clicks: int) -> None:
        with platform.db.session() as s, s.begin():
            s.add(
                CanaryObservationRow(
                    model_name="reco-ease", version=version, at=datetime.now(UTC),
                    requests=300, errors=0, impressions=impressions, clicks=clicks,
                    latency_counts=[300] + [0] * 10,
                )
            )  # fmt: skip

    observe(versions[0], 400, 40)
    observe(versions[1], 20, 0)
    waiting = judge.judge("reco-ease", later)
    assert waiting.action == "wait" and "20/100 impressions" in waiting.reason
    much_later = later + timedelta(seconds=cfg.canary_ctr_wait_s)
    alone = judge.judge("reco-ease", much_later)  # rare outcomes: health alone
    assert alone.action == "promote" and "CTR not judged (20)" in alone.reason
    observe(versions[1], 380, 20)  # CTR 0.05 < 0.8 x 0.10
    assert judge.judge("reco-ease", later).action == "rollback"
    observe(versions[1], 0, 20)  # CTR 0.10: healthy
    assert judge.judge("reco-ease", later).action == "promote"


def test_a_slow_challenger_is_rolled_back_on_its_latency_quantiles(
    canary: tuple[Platform, list[str]],
) -> None:
    from datetime import UTC, datetime, timedelta

    from agora.config import MlopsSettings
    from agora.mlops.canary import LATENCY_BUCKETS
    from agora.mlops.canary_judge import CanaryJudge
    from agora.mlops.tables import CanaryObservationRow

    platform, versions = canary
    registry = platform.model_registry
    cfg = MlopsSettings(canary_max_p95_ms=200.0, canary_max_p99_ms=500.0)
    later = datetime.now(UTC) + timedelta(seconds=cfg.canary_window_s + 1)
    slow = next(i for i, b in enumerate(LATENCY_BUCKETS) if b * 1000 > 500)
    counts = [0] * (len(LATENCY_BUCKETS) + 1)
    counts[0], counts[slow + 1] = 290, 10  # 3.3% of requests beyond 500 ms
    with platform.db.session() as s, s.begin():
        for version, latency in ((versions[0], [300] + [0] * 10), (versions[1], counts)):
            s.add(
                CanaryObservationRow(
                    model_name="reco-ease", version=version, at=datetime.now(UTC),
                    requests=300, errors=0, impressions=0, clicks=0,
                    latency_counts=latency,
                )
            )  # fmt: skip
    verdict = CanaryJudge(registry, cfg).judge("reco-ease", later)
    assert verdict.action == "rollback", verdict
    assert "latency p99" in verdict.reason and "> 500 ms" in verdict.reason
    relaxed = MlopsSettings(canary_max_p95_ms=200.0, canary_max_p99_ms=60_000.0)
    assert CanaryJudge(registry, relaxed).judge("reco-ease", later).action == "promote"
